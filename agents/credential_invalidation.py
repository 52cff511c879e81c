"""Drop cached credentials (agents/credential_cache.py) whenever what they hold changes.

Model signals rather than calls from the services, because credentials, agents and
organizations also change outside them: the admin's change forms, its bulk delete,
cascades (deleting an organization deletes its API keys; deleting an agent, its tokens).
`post_delete` is sent for every cascaded row too. `QuerySet.update()` sends no signal;
the only one on these models, `credential_touch`, writes `last_used_at`, which the cache
does not rely on.

| change | entries dropped |
|---|---|
| API key saved (revoked, edited) or deleted | that key |
| agent token saved (revoked) or deleted | that token |
| agent saved (deactivated, role, organization, any field) | the agent's tokens |
| organization saved (slug, name, ...) | its API keys and its agents' tokens |
"""

from django.db.models.signals import post_delete, post_save

from agents.credential_cache import credential_cache_drop, credential_cache_enabled
from agents.models import Agent, AgentToken, ApiKey, Organization


def on_credential_changed(sender, instance, created=False, **kwargs) -> None:
    if created:  # a new key cannot be cached yet; marking it would only delay its caching
        return
    credential_cache_drop(model=sender, key_hashes=[instance.key_hash])


def on_agent_saved(sender, instance, created, **kwargs) -> None:
    if created or not credential_cache_enabled():
        return
    tokens = AgentToken.objects.filter(agent_id=instance.pk, revoked_at__isnull=True)
    credential_cache_drop(model=AgentToken, key_hashes=tokens.values_list("key_hash", flat=True))


def on_organization_saved(sender, instance, created, **kwargs) -> None:
    if created or not credential_cache_enabled():
        return
    keys = ApiKey.objects.filter(organization_id=instance.pk, revoked_at__isnull=True)
    credential_cache_drop(model=ApiKey, key_hashes=keys.values_list("key_hash", flat=True))
    tokens = AgentToken.objects.filter(agent__organization_id=instance.pk, revoked_at__isnull=True)
    credential_cache_drop(model=AgentToken, key_hashes=tokens.values_list("key_hash", flat=True))


def credential_invalidation_connect() -> None:
    """Connect the receivers (AgentsConfig.ready)."""
    for model in (ApiKey, AgentToken):
        uid = f"credential_cache:{model._meta.model_name}"
        post_save.connect(on_credential_changed, sender=model, dispatch_uid=f"{uid}:save")
        post_delete.connect(on_credential_changed, sender=model, dispatch_uid=f"{uid}:delete")
    post_save.connect(on_agent_saved, sender=Agent, dispatch_uid="credential_cache:agent")
    post_save.connect(
        on_organization_saved, sender=Organization, dispatch_uid="credential_cache:organization"
    )
