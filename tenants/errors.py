"""Errors of the tenants app (codes are public contracts, see docs/errors.md)."""

from sequencer_project.api.errors import NotFoundError


class TenantNotFoundError(NotFoundError):
    code = "tenant_not_found"
    title = "Tenant not found"
