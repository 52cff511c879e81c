from django.core.management.base import BaseCommand, CommandError

from agents import roles
from agents.exceptions import DomainError
from agents.models import Organization
from agents.services import api_key_create


class Command(BaseCommand):
    help = "Create an organization API key (X-API-Key) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="organization slug")
        parser.add_argument("--name", required=True, help="a label, e.g. 'support-frontend'")
        parser.add_argument(
            "--role", default=roles.AGENT, choices=[roles.AGENT, roles.MANAGER], help="key's role"
        )

    def handle(self, *args, organization, name, role, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organization with slug {organization!r}.")
        try:
            key, raw = api_key_create(organization=org, name=name, role=role, actor=None)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stderr.write(
            f"Created API key {key.name!r} ({key.role}) for {org.slug}. "
            "It is shown only now; store it safely."
        )
        self.stdout.write(raw)
