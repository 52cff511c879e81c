from django.core.management.base import BaseCommand, CommandError

from agents.exceptions import DomainError
from agents.services import organization_create


class Command(BaseCommand):
    help = (
        "Create an organization (a tenant) and its first admin, who logs in to the admin "
        "with the printed password and invites the team from there."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="short unique name, e.g. 'acme' (letters, digits, -)")
        parser.add_argument("name", help="display name, e.g. 'Acme Inc.'")
        parser.add_argument("--admin", required=True, metavar="EMAIL", help="the first admin")
        parser.add_argument("--admin-name", default="", help="the admin's display name")
        parser.add_argument("--timezone", default="UTC", help="e.g. Europe/Paris")

    def handle(self, *args, slug, name, admin, admin_name, timezone, **options):
        try:
            organization, agent, password = organization_create(
                slug=slug, name=name, admin_email=admin, admin_name=admin_name, timezone=timezone
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stderr.write(
            f"Created organization {organization.slug!r} and its admin {agent.email}. "
            "The password below is shown only now; change it after the first login."
        )
        self.stdout.write(password)
