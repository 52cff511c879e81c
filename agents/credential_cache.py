"""A cache of authenticated credentials (organization API keys, agent tokens).

An entry is keyed by the key's SHA-256 (the hash stored in the database, never the raw
key) and holds the field values of the credential, its agent and its organization, so a
request authenticates without SQL. The agent's password hash is left out (a field that is
left out is read from the database if anything asks for it). Only valid credentials are
cached; an unknown or revoked key always goes to the database.

Why only a cache shared by every process: invalidation must reach every copy at once. A
revoke in one gunicorn worker deletes the entry in Redis, which every worker reads; with
the local-memory cache of the embedded mode (`make run` runs two gunicorn workers and a
Celery worker) it could only drop its own process's copy, and another process would go on
accepting a revoked key until the entry expired. So without a shared backend (Redis,
Memcached, the database cache) nothing is cached and every request reads the database,
as before. `AUTH_CACHE_PROCESS_LOCAL` lifts that rule for tests, where a single process
serves and revokes.

Invalidation (agents/credential_invalidation.py) does not delete an entry, it replaces it
with a "dropped" mark for `DROPPED_SECONDS`, and entries are only ever written with
`add` (set if absent). A request that read the credential before a revoke committed thus
cannot put it back afterwards. The mark is written at once and again when the
transaction commits.

Failures: every cache error counts as a miss (django-redis already ignores a Redis that
is down; anything else, such as an entry that no longer unpickles, is logged). Should
Redis be unreachable when a credential is revoked, the entry cannot be dropped;
`AUTH_CACHE_SECONDS` bounds how long it could then still be used.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import caches
from django.db import router, transaction

from agents.models import Agent, AgentToken, ApiKey, Organization

logger = logging.getLogger(__name__)

#: How long a dropped credential cannot be cached again (seconds): longer than any
#: request takes between reading the credential and caching it.
DROPPED_SECONDS = 30

_DROPPED = "dropped"
# Part of every key: a change to what an entry holds bumps it, so old entries are not read.
_FORMAT = "v1"
# Backends every process of a deployment reads and writes alike (class paths; subclasses
# count too). Anything else, LocMemCache above all, is treated as per-process.
_SHARED_BACKENDS = frozenset(
    {
        "django_redis.cache.RedisCache",
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.memcached.PyMemcacheCache",
        "django.core.cache.backends.memcached.PyLibMCCache",
        "django.core.cache.backends.db.DatabaseCache",
    }
)
# Never copied into the cache.
_AGENT_FIELDS_LEFT_OUT = frozenset({"password"})


def _cache():
    return caches["default"]


def _is_shared(cache) -> bool:
    return any(
        f"{cls.__module__}.{cls.__qualname__}" in _SHARED_BACKENDS for cls in type(cache).__mro__
    )


def credential_cache_enabled() -> bool:
    """Whether credentials are cached: a positive `AUTH_CACHE_SECONDS` and a default cache
    shared by every process (or `AUTH_CACHE_PROCESS_LOCAL`, for tests)."""
    if settings.AUTH_CACHE_SECONDS <= 0:
        return False
    return settings.AUTH_CACHE_PROCESS_LOCAL or _is_shared(_cache())


def credential_cache_key(*, model: type[ApiKey] | type[AgentToken], key_hash: str) -> str:
    return f"auth:{_FORMAT}:{model._meta.model_name}:{key_hash}"


def _values(instance, *, left_out=frozenset()) -> dict:
    deferred = instance.get_deferred_fields()
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname not in left_out and field.attname not in deferred
    }


def _instance(model, values: dict):
    """A model instance as if read from the database; fields not in `values` are deferred."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(router.db_for_read(model), fields, [values[name] for name in fields])


def _entry(credential: ApiKey | AgentToken) -> dict:
    if isinstance(credential, ApiKey):
        organization = credential.organization
        return {"credential": _values(credential), "organization": _values(organization)}
    agent = credential.agent
    organization = agent.organization if agent.organization_id else None
    return {
        "credential": _values(credential),
        "agent": _values(agent, left_out=_AGENT_FIELDS_LEFT_OUT),
        "organization": _values(organization) if organization is not None else None,
    }


def _credential(model, entry: dict) -> ApiKey | AgentToken | None:
    credential = _instance(model, entry["credential"])
    organization = None
    if entry["organization"] is not None:
        organization = _instance(Organization, entry["organization"])
    if model is ApiKey:
        credential.organization = organization
    else:
        agent = _instance(Agent, entry["agent"])
        if agent.organization_id is not None:
            agent.organization = organization
        credential.agent = agent
        if not agent.is_active:
            return None
    # Only valid credentials are cached; this guards against a stray entry all the same.
    return credential if credential.revoked_at is None else None


def credential_cache_get(
    *, model: type[ApiKey] | type[AgentToken], key_hash: str
) -> ApiKey | AgentToken | None:
    """The cached active credential with this key hash (its agent and organization
    attached), or None: not cached, dropped, caching off, or the cache failing."""
    if not credential_cache_enabled():
        return None
    try:
        entry = _cache().get(credential_cache_key(model=model, key_hash=key_hash))
        if entry is None or entry == _DROPPED:
            return None
        return _credential(model, entry)
    except Exception:  # a cache that fails is a miss: the database answers
        logger.warning("credential cache: reading an entry failed", exc_info=True)
        return None


def credential_cache_add(*, credential: ApiKey | AgentToken) -> None:
    """Cache an active credential read from the database (with select_related agent and
    organization), unless an entry or a "dropped" mark is already there."""
    if not credential_cache_enabled() or credential.revoked_at is not None:
        return
    key = credential_cache_key(model=type(credential), key_hash=credential.key_hash)
    try:
        _cache().add(key, _entry(credential), timeout=settings.AUTH_CACHE_SECONDS)
    except Exception:
        logger.warning("credential cache: writing an entry failed", exc_info=True)


def _mark_dropped(keys: list[str]) -> None:
    try:
        _cache().set_many(dict.fromkeys(keys, _DROPPED), timeout=DROPPED_SECONDS)
    except Exception:
        logger.warning("credential cache: dropping %d entries failed", len(keys), exc_info=True)


def credential_cache_drop(
    *, model: type[ApiKey] | type[AgentToken], key_hashes: Iterable[str]
) -> None:
    """Stop serving these credentials from the cache: now, and again once the current
    transaction commits (a request may have cached the old row in between)."""
    if not credential_cache_enabled():
        return
    keys = [credential_cache_key(model=model, key_hash=key_hash) for key_hash in key_hashes]
    if not keys:
        return
    _mark_dropped(keys)
    transaction.on_commit(lambda: _mark_dropped(keys))
