"""Strict request bodies: a field the endpoint does not take is a 400 naming it.

A silently ignored field hides client bugs and, worse, looks accepted: `PATCH
/agents/me {"role": "admin"}` answering 200 reads as "you are an admin now". Every
serializer that validates a POST/PUT/PATCH body mixes this in (query-parameter
serializers do not: clients add cache busters such as `_t`).
"""

from collections.abc import Mapping

from rest_framework import serializers

UNKNOWN = "Unknown field."
# Not the endpoint's: Django's CSRF middleware reads it from a form-encoded body.
IGNORED = {"csrfmiddlewaretoken"}


class RejectUnknownFieldsMixin:
    """Reject keys that are not writable fields of this serializer.

    Read-only fields count as unknown in a write. Nested serializers that also mix this
    in reject their own unknown keys (DRF hands them their part of the body). For lists
    of plain objects validated further down (e.g. a calendar's `hours`), name the
    serializer describing one item in `nested_keys` and its keys are checked too.
    """

    #: {field name: serializer class whose fields are the keys one item may carry}
    nested_keys: dict[str, type[serializers.Serializer]] = {}

    def to_internal_value(self, data):
        unknown = self._unknown_field_errors(data) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                # One answer lists everything wrong, the unknown fields first.
                raise serializers.ValidationError({**unknown, **exc.detail}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def _unknown_field_errors(self, data: Mapping) -> dict:
        writable = {name for name, field in self.fields.items() if not field.read_only}
        errors = {key: [UNKNOWN] for key in data if key not in writable and key not in IGNORED}
        for name, item_serializer in self.nested_keys.items():
            items = data.get(name)
            if name in errors or not isinstance(items, list):
                continue  # a wrong type is the field's own error
            allowed = set(item_serializer().fields)
            messages = [
                f"{name}[{index}].{key}: {UNKNOWN}"
                for index, item in enumerate(items)
                if isinstance(item, Mapping)
                for key in item
                if key not in allowed
            ]
            if messages:
                errors[name] = messages
        return errors
