"""DRF authentication: organization API keys (X-API-Key) and agent tokens (Token ...).

A valid credential is served from agents/credential_cache.py when caching is on; a miss,
an unknown or revoked key, or a cache that is down reads the database.
"""

from collections.abc import Callable

from rest_framework import authentication, exceptions

from agents.credential_cache import credential_cache_add, credential_cache_get
from agents.keys import key_hash
from agents.models import AgentToken, ApiKey
from agents.principals import ApiKeyPrincipal
from agents.selectors import agent_token_get_active, api_key_get_active
from agents.services import credential_touch


def _credential_get_active(*, model, raw: str, lookup: Callable) -> ApiKey | AgentToken | None:
    credential = credential_cache_get(model=model, key_hash=key_hash(raw))
    if credential is not None:
        credential_touch(credential=credential)
        return credential
    credential = lookup(raw=raw)
    if credential is None:
        return None  # never cached: the next attempt asks the database again
    credential_touch(credential=credential)  # first, so the cached copy has the new time
    credential_cache_add(credential=credential)
    return credential


class ApiKeyAuthentication(authentication.BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        raw = request.META.get(self.header)
        if not raw:
            return None
        api_key = _credential_get_active(model=ApiKey, raw=raw.strip(), lookup=api_key_get_active)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyPrincipal(api_key=api_key), api_key

    def authenticate_header(self, request):
        return "X-API-Key"


class AgentTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = _credential_get_active(model=AgentToken, raw=key, lookup=agent_token_get_active)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return token.agent, token
