"""Request throttling per caller: an agent, or an organization API key (each key its own
bucket; DRF's UserRateThrottle would lump every key together, having no user pk)."""

from rest_framework.throttling import SimpleRateThrottle

from agents.principals import ApiKeyPrincipal


class CallerRateThrottle(SimpleRateThrottle):
    scope = "caller"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            ident = f"key:{user.api_key.pk}"
        elif user is not None and user.is_authenticated:
            ident = f"agent:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
