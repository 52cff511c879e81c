"""The shared body of `sync_zendesk` and `sync_gorgias`: one run in this process, with a
progress line per page and a summary line."""

import sys

from django.core.management.base import BaseCommand, CommandError

from integrations.models import IntegrationAccount
from integrations.providers.sync import SyncBusy, sync_account


class ProviderSyncCommand(BaseCommand):
    provider = ""

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="The integration account's id.")
        parser.add_argument(
            "--full", action="store_true", help="Walk everything again, not from the cursor."
        )

    def handle(self, *args, account, full, **options):
        found = IntegrationAccount.objects.filter(pk=account, provider=self.provider).first()
        if found is None:
            raise CommandError(f"No {self.provider} account {account}.")
        stream = self.stdout

        def progress(run, page_size):
            seen = run.created + run.updated + run.skipped
            bar = "#" * min(30, run.pages)
            stream.write(
                f"\r{self.provider:<8} [{bar:<30}] page {run.pages:>5}  tickets seen {seen:>8,}"
                f"  created {run.created:,}  updated {run.updated:,}"
                f"  messages {run.messages_created:,}",
                ending="",
            )
            stream.flush()

        try:
            run = sync_account(found, full=full, trigger="manual", progress=progress)
        except SyncBusy as exc:
            raise CommandError(str(exc)) from exc
        seconds = (run.finished_at - run.started_at).total_seconds()
        stream.write("")
        summary = (
            f"{self.provider} sync {run.status}: {run.created:,} created, {run.updated:,} "
            f"updated, {run.skipped:,} skipped, {run.failed:,} failed, "
            f"{run.messages_created:,} messages, {run.pages} pages in {seconds:.1f} s."
        )
        for line in run.errors:
            self.stderr.write(f"  {line}")
        if run.status != "ok":
            self.stderr.write(summary)
            sys.exit(1)
        stream.write(summary)
