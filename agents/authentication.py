"""DRF authentication: organization API keys (X-API-Key) and agent tokens (Token ...)."""

from rest_framework import authentication, exceptions

from agents.principals import ApiKeyPrincipal
from agents.selectors import agent_token_get_active, api_key_get_active
from agents.services import credential_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        raw = request.META.get(self.header)
        if not raw:
            return None
        api_key = api_key_get_active(raw=raw.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        credential_touch(credential=api_key)
        return ApiKeyPrincipal(api_key=api_key), api_key

    def authenticate_header(self, request):
        return "X-API-Key"


class AgentTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = agent_token_get_active(raw=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        credential_touch(credential=token)
        return token.agent, token
