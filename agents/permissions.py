"""API permissions: members of an organization, and managers for configuration."""

from rest_framework import permissions


class IsOrganizationMember(permissions.BasePermission):
    """An authenticated agent or API key that belongs to an organization."""

    message = "Authentication with an agent of an organization or an API key is required."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "organization_id", None))


class IsManagerOrReadOnly(IsOrganizationMember):
    """Everyone in the organization reads; managers and admins write."""

    message = "Only managers and admins can change this."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_manager


class IsManager(IsOrganizationMember):
    """Managers and admins only, reading included (credentials, sync state)."""

    message = "Only managers and admins can see or change this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.is_manager
