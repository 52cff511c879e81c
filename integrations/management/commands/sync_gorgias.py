from integrations.management.sync_command import ProviderSyncCommand


class Command(ProviderSyncCommand):
    help = "Import from Gorgias: incremental from the saved cursor, or everything with --full."
    provider = "gorgias"
