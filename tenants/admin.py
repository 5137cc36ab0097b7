"""Operator admin for tenancy (read-mostly; key creation and revocation go through services)."""

from django.contrib import admin

from tenants.models import ApiKey, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin[Tenant]):
    list_display = ("name", "id", "is_active", "created_at")
    search_fields = ("=id", "name")
    readonly_fields = ("id", "created_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ("display_prefix", "tenant", "name", "can_read", "can_write", "can_admin", "active", "last_used_at")
    list_filter = ("active", "can_admin")
    list_select_related = ("tenant",)
    raw_id_fields = ("tenant",)
    search_fields = ("=tenant__id", "display_prefix", "name")
    readonly_fields = ("key_hash", "display_prefix", "created_at", "updated_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request: object) -> bool:
        return False  # keys are minted by the create_api_key command or the API (shown once)
