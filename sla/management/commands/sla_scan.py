from django.core.management.base import BaseCommand

from sla.scan import sla_scan


class Command(BaseCommand):
    help = "Mark at-risk and breached SLA clocks now (what beat runs every minute)."

    def handle(self, *args, **options):
        result = sla_scan()
        self.stdout.write(
            f"at risk: {result['at_risk']}, breached: {result['breached']}"
            + (f" ({result['skipped']})" if result.get("skipped") else "")
        )
