from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Every route answers with and without a trailing slash, never by a redirect
    (a redirected CORS preflight breaks the browser; the frontend omits the slash)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"
