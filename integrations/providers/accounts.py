"""Zendesk / Gorgias accounts: validation and writes (services), reads (selectors)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from agents.exceptions import Conflict, DomainError
from integrations.models import IntegrationAccount, SyncRun
from integrations.secrets import secret_seal
from integrations.ssrf import url_check
from tickets.ids import uuid_parse

# What each provider needs to connect (besides the secret).
REQUIRED = {"zendesk": ("subdomain", "email"), "gorgias": ("domain", "username")}
SECRET_FIELDS = ("api_token", "api_key", "webhook_secret")
FIELDS = (
    "name",
    "subdomain",
    "domain",
    "base_url",
    "email",
    "username",
    "enabled",
    "sync_interval_minutes",
    "rate_limit_per_minute",
    "ignore_senders",
    "ignore_tags",
)


def account_list(*, organization_id) -> QuerySet[IntegrationAccount]:
    return IntegrationAccount.objects.filter(organization_id=organization_id).order_by(
        "created_at", "pk"
    )


def account_get(*, organization_id, account_id) -> IntegrationAccount:
    account = (
        account_list(organization_id=organization_id)
        .filter(pk=uuid_parse(account_id, field="id", what="integration account"))
        .first()
    )
    if account is None:
        raise NotFound(f"Integration account {account_id!s:.60} not found.")
    return account


def run_list(*, account: IntegrationAccount) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(account=account).order_by("-started_at", "-id")


def _apply(account: IntegrationAccount, data: dict) -> list[str]:
    """Set the fields given; returns the names changed (secrets sealed)."""
    changed = []
    for name in FIELDS:
        if name in data and getattr(account, name) != data[name]:
            setattr(account, name, data[name])
            changed.append(name)
    secret = data.get("api_token") if account.provider == "zendesk" else data.get("api_key")
    wrong = "api_key" if account.provider == "zendesk" else "api_token"
    if data.get(wrong):
        raise DomainError(
            f"{wrong} is for {'Gorgias' if wrong == 'api_key' else 'Zendesk'} accounts; "
            f"a {account.provider} account takes "
            f"{'api_token' if account.provider == 'zendesk' else 'api_key'}.",
            field=wrong,
        )
    if secret:
        account.api_secret = secret_seal(secret)
        changed.append("api_secret")
    if data.get("webhook_secret"):
        account.webhook_secret = secret_seal(data["webhook_secret"])
        changed.append("webhook_secret")
    return changed


def _validate(account: IntegrationAccount) -> None:
    if not account.base_url:
        for name in REQUIRED[account.provider][:1]:
            if not getattr(account, name):
                raise DomainError(
                    f"A {account.provider} account needs {name} (or base_url).", field=name
                )
    name = REQUIRED[account.provider][1]
    if not getattr(account, name):
        raise DomainError(f"A {account.provider} account needs {name}.", field=name)
    if not account.api_secret:
        key = "api_token" if account.provider == "zendesk" else "api_key"
        raise DomainError(f"A {account.provider} account needs {key}.", field=key)
    if account.base_url:
        try:
            url_check(account.base_url)
        except DomainError as exc:
            raise DomainError(exc.detail, field="base_url") from exc
    if account.sync_interval_minutes < 1 or account.sync_interval_minutes > 1440:
        raise DomainError(
            "sync_interval_minutes is between 1 and 1440.", field="sync_interval_minutes"
        )


def _save(account: IntegrationAccount, actor, **kwargs) -> None:
    account._history_user = actor
    try:
        with transaction.atomic():
            account.save(**kwargs)
    except IntegrityError as exc:
        raise Conflict(
            f"The organization already has a {account.provider} account named {account.name!r}."
        ) from exc


def account_create(*, organization, data: dict, actor) -> IntegrationAccount:
    provider = data.get("provider")
    if provider not in REQUIRED:
        raise DomainError("provider is zendesk or gorgias.", field="provider")
    account = IntegrationAccount(organization=organization, provider=provider)
    _apply(account, data)
    _validate(account)
    _save(account, actor)
    return account


def account_check(*, account: IntegrationAccount | None, data: dict) -> None:
    """Raise the DomainError account_create / account_update would, writing nothing
    (the admin form's validation)."""
    import copy

    provider = data.get("provider") if account is None else account.provider
    if provider not in REQUIRED:
        raise DomainError("provider is zendesk or gorgias.", field="provider")
    trial = IntegrationAccount(provider=provider) if account is None else copy.copy(account)
    _apply(trial, data)
    _validate(trial)


def account_update(*, account: IntegrationAccount, data: dict, actor) -> IntegrationAccount:
    if "provider" in data and data["provider"] != account.provider:
        raise DomainError("provider cannot change; add another account.", field="provider")
    changed = _apply(account, data)
    if not changed:
        return account
    _validate(account)
    _save(account, actor, update_fields=[*changed, "updated_at"])
    return account


def account_delete(*, account: IntegrationAccount, actor) -> None:
    """The account, its runs, webhooks received and pushes; imported tickets stay."""
    account._history_user = actor
    account.delete()
