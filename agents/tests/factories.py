import factory

from agents import roles
from agents.models import Agent, Organization, Team
from agents.services import agent_role_sync


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    timezone = "UTC"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"agent{n}@example.test")
    name = factory.Sequence(lambda n: f"Agent {n}")
    role = roles.AGENT
    availability = "available"
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def sync_role(obj, create, extracted, **kwargs):
        if create:
            agent_role_sync(agent=obj)
