"""Roll the reports' days up now (the beat task does it hourly)."""

from django.core.management.base import BaseCommand, CommandError

from agents.models import Organization
from analytics.rollup import rollup_refresh


class Command(BaseCommand):
    help = (
        "Roll each organization's days up to yesterday (analytics.rollup). --rebuild "
        "starts over from the first ticket, e.g. after an import of old tickets."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="One organization's id (default: all).")
        parser.add_argument("--rebuild", action="store_true", help="Rebuild every day.")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Build a long span this many years at a time (PostgreSQL; one per core).",
        )

    def handle(self, *args, organization=None, rebuild=False, workers=1, verbosity=1, **options):
        if workers < 1:
            raise CommandError("--workers is 1 or more.")
        organizations = Organization.objects.order_by("name")
        if organization:
            organizations = organizations.filter(pk=organization)
            if not organizations.exists():
                raise CommandError(f"No organization {organization}.")
        for org in organizations.only("pk", "name"):
            days = rollup_refresh(organization_id=org.pk, rebuild=rebuild, workers=workers)
            if verbosity:
                self.stdout.write(f"{org.name}: {days} day(s) rolled up.")
