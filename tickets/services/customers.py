"""Customers: found or created by their commerce id, created and edited by agents."""

import uuid

from django.db import IntegrityError, transaction

from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Organization
from tickets.events import event_record
from tickets.models import Customer, CustomerTier
from tickets.services.common import _choice_check


def customer_get_or_create(
    *,
    organization: Organization,
    external_id: str,
    name: str = "",
    email: str = "",
    phone: str = "",
    actor: Agent | None = None,
) -> Customer:
    """The organization's customer with this external id, created on first sight."""
    external_id = (external_id or "").strip()
    if not external_id:
        raise DomainError("customer_id must not be empty.", field="customer_id")
    customer = Customer.objects.filter(organization=organization, external_id=external_id).first()
    if customer is not None:
        return customer
    try:
        with transaction.atomic():
            return Customer.objects.create(
                organization=organization,
                external_id=external_id,
                name=name.strip(),
                email=(email or "").strip().lower(),
                phone=phone.strip(),
            )
    except IntegrityError:  # created concurrently by another request: take theirs
        return Customer.objects.get(organization=organization, external_id=external_id)


CUSTOMER_FIELDS = ("name", "email", "phone", "tier")


def _customer_clean(fields: dict) -> dict:
    clean = {}
    for key, value in fields.items():
        if key not in CUSTOMER_FIELDS:
            raise DomainError(f"Unknown customer field {key!r}.", field=key)
        value = (value or "").strip()
        if key == "email":
            value = value.lower()
        if key == "tier":
            _choice_check(value, CustomerTier.values, "tier")
        clean[key] = value
    return clean


@transaction.atomic
def customer_create(
    *, organization: Organization, external_id: str = "", actor: Agent | None, **fields
) -> Customer:
    """Create a customer; without an external id, its own id becomes its `customer_id`."""
    external_id = (external_id or "").strip()
    if Customer.objects.filter(organization=organization, external_id=external_id).exists():
        raise Conflict(f"A customer with customer_id {external_id!r} exists.", field="customer_id")
    pk = uuid.uuid4()
    customer = Customer(
        pk=pk,
        organization=organization,
        external_id=external_id or str(pk),
        **_customer_clean(fields),
    )
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise Conflict(f"A customer with customer_id {external_id!r} exists.") from exc
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: Agent | None, **fields) -> Customer:
    """Change a customer's contact details or tier; a tier change rescores their tickets."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changed, before = [], {}
    for key, value in _customer_clean(fields).items():
        if getattr(customer, key) != value:
            before[key] = {"from": getattr(customer, key), "to": value}
            setattr(customer, key, value)
            changed.append(key)
    if changed:
        customer._history_user = actor
        customer.save(update_fields=[*changed, "updated_at"])
        event_record(
            kind="customer.updated",
            customer=customer,
            actor=actor,
            payload={"fields": changed, "changes": {k: before[k] for k in changed}},
        )
    return customer
