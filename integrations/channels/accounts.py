"""Email, SMS and chat channels: validation and writes (services), reads (selectors)."""

from __future__ import annotations

import re
import secrets as random_secrets

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from agents.exceptions import Conflict, DomainError
from integrations.models import ChannelAccount
from integrations.secrets import secret_seal
from integrations.ssrf import url_check
from tickets.ids import uuid_parse

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
FIELDS = ("name", "address", "phone_number", "account_sid", "base_url", "callback_url", "enabled")
NEEDS = {"email": ("address",), "sms": ("phone_number", "account_sid"), "chat": ()}


def channel_list(*, organization_id) -> QuerySet[ChannelAccount]:
    return ChannelAccount.objects.filter(organization_id=organization_id).order_by(
        "created_at", "pk"
    )


def channel_get(*, organization_id, channel_id) -> ChannelAccount:
    channel = (
        channel_list(organization_id=organization_id)
        .filter(pk=uuid_parse(channel_id, field="id", what="channel"))
        .first()
    )
    if channel is None:
        raise NotFound(f"Channel {channel_id!s:.60} not found.")
    return channel


def secret_generate() -> str:
    return "chs_" + random_secrets.token_urlsafe(32)


def _apply(channel: ChannelAccount, data: dict) -> list[str]:
    changed = []
    for name in FIELDS:
        if name in data and getattr(channel, name) != data[name]:
            setattr(channel, name, data[name])
            changed.append(name)
    if data.get("auth_token"):
        if channel.kind != "sms":
            raise DomainError("auth_token is for SMS (Twilio) channels.", field="auth_token")
        channel.auth_token = secret_seal(data["auth_token"])
        changed.append("auth_token")
    return changed


def _validate(channel: ChannelAccount) -> None:
    for name in NEEDS[channel.kind]:
        if not getattr(channel, name):
            raise DomainError(f"A {channel.kind} channel needs {name}.", field=name)
    if channel.kind == "sms":
        if not E164.match(channel.phone_number):
            raise DomainError(
                "phone_number is in E.164 form, e.g. +15551234567.", field="phone_number"
            )
        if not channel.auth_token:
            raise DomainError("An SMS channel needs auth_token (Twilio).", field="auth_token")
    for name in ("base_url", "callback_url"):
        if getattr(channel, name):
            try:
                url_check(getattr(channel, name))
            except DomainError as exc:
                raise DomainError(exc.detail, field=name) from exc


def _save(channel, actor, **kwargs) -> None:
    channel._history_user = actor
    try:
        with transaction.atomic():
            channel.save(**kwargs)
    except IntegrityError as exc:
        raise Conflict(
            f"There is already a {channel.kind} channel named {channel.name!r}."
        ) from exc


def channel_create(*, organization, data: dict, actor) -> tuple[ChannelAccount, str]:
    """The channel and its inbound secret in clear (email, chat; "" for SMS), to show
    once."""
    kind = data.get("kind")
    if kind not in NEEDS:
        raise DomainError("kind is email, sms or chat.", field="kind")
    channel = ChannelAccount(organization=organization, kind=kind)
    _apply(channel, data)
    _validate(channel)
    secret = secret_generate() if kind in ("email", "chat") else ""
    channel.secret = secret_seal(secret)
    _save(channel, actor)
    return channel, secret


def channel_check(*, channel: ChannelAccount | None, data: dict) -> None:
    """The DomainError channel_create / channel_update would raise, writing nothing."""
    import copy

    kind = data.get("kind") if channel is None else channel.kind
    if kind not in NEEDS:
        raise DomainError("kind is email, sms or chat.", field="kind")
    trial = ChannelAccount(kind=kind) if channel is None else copy.copy(channel)
    _apply(trial, data)
    _validate(trial)


def channel_update(*, channel: ChannelAccount, data: dict, actor) -> ChannelAccount:
    if "kind" in data and data["kind"] != channel.kind:
        raise DomainError("kind cannot change; add another channel.", field="kind")
    changed = _apply(channel, data)
    if not changed:
        return channel
    _validate(channel)
    _save(channel, actor, update_fields=[*changed, "updated_at"])
    return channel


def channel_secret_rotate(*, channel: ChannelAccount, actor) -> str:
    if channel.kind not in ("email", "chat"):
        raise DomainError("Only email and chat channels have an inbound secret.", field="kind")
    secret = secret_generate()
    channel.secret = secret_seal(secret)
    _save(channel, actor, update_fields=["secret", "updated_at"])
    return secret


def channel_delete(*, channel: ChannelAccount, actor) -> None:
    channel._history_user = actor
    channel.delete()
