"""Domain errors, in the lowest layer so every app can raise them without importing DRF.

`quimbi_support.api.exception_handler` maps them to HTTP: DomainError -> 400,
NotFound -> 404, Conflict -> 409.
"""


class DomainError(Exception):
    """Bad input or an operation the domain rules forbid (HTTP 400)."""

    def __init__(self, detail: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code


class NotFound(DomainError):
    """Unknown id, or one that belongs to another organization (HTTP 404)."""

    def __init__(self, detail: str = "Not found.", **kwargs):
        super().__init__(detail, code="not_found", **kwargs)


class Conflict(DomainError):
    """The change conflicts with the current state, e.g. a unique key (HTTP 409)."""

    def __init__(self, detail: str, **kwargs):
        super().__init__(detail, code="conflict", **kwargs)
