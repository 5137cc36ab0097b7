"""DRF permission: the request carries an authenticated principal."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from sequencer_project.api.principal import Principal


class IsPrincipal(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Principal)


class IsAdminPrincipal(BasePermission):
    """Operator endpoints (``/metrics``, ``/health/detailed``): a credential with the admin permission."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Principal) and request.user.can_admin
