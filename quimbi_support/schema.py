"""OpenAPI generation (drf-spectacular) tuned to how this API answers.

- List endpoints answer envelopes ({tickets, pagination, ...}), never bare arrays.
- Every operation documents its error answers (JSON with `detail` and `error`).
- Only the canonical /api/v1/ paths are listed; /api/... serves the same operations.
"""

from django.conf import settings
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail", "error"],
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        },
    },
}
ERRORS = {
    "400": "Bad input (the detail says what and where).",
    "401": "Not authenticated: send X-API-Key, a Token, or a session.",
    "403": "Authenticated but not allowed (e.g. an agent writing rules).",
    "404": "Unknown id, or one of another organization.",
    "405": "Method not allowed.",
    "409": "Conflicts with the current state.",
    "414": "The request line is too long for the web server (over 4 KB behind gunicorn).",
    "415": "Unsupported media type.",
    "429": "Too many requests.",
    "503": "A service this needs (the database) is unavailable; try again.",
}


class AutoSchema(SpectacularAutoSchema):
    def _is_list_view(self, serializer=None) -> bool:
        return False

    def get_operation_id(self) -> str:
        if self.method == "GET" and getattr(self.view, "action", None) == "list":
            tokens = [t.replace("-", "_") for t in self._tokenize_path()]
            return "_".join([*tokens, "list"])
        return super().get_operation_id()


DEMO_PATH_ENDINGS = ("/reset/", "/reset-conversation/")


def only_versioned_paths(endpoints, **kwargs):
    """The /api/v1 paths; the demo resets only where DEMO_FEATURES turns them on."""
    return [
        e
        for e in endpoints
        if e[0].startswith("/api/v1/")
        and (settings.DEMO_FEATURES or not e[0].endswith(DEMO_PATH_ENDINGS))
    ]


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result
