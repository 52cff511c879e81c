import factory
from django.utils import timezone

from agents.tests.factories import OrganizationFactory
from tickets.models import Customer, Message, Ticket


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: str(7_000_000_000 + n))
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class TicketFactory(factory.django.DjangoModelFactory):
    """A bare ticket row (no events); use tickets.services to test behaviour."""

    class Meta:
        model = Ticket

    organization = factory.SubFactory(OrganizationFactory)
    customer = factory.SubFactory(
        CustomerFactory, organization=factory.SelfAttribute("..organization")
    )
    subject = factory.Sequence(lambda n: f"Ticket {n}")
    created_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    organization = factory.SelfAttribute("ticket.organization")
    content = "Hello"
    created_at = factory.LazyFunction(timezone.now)
