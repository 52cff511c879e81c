"""Full-text search over tickets on PostgreSQL: a GIN index on the same expression the
`q` filter uses (tickets.search.TicketSearchVector). Other databases use a substring
fallback and get no index."""

from django.db import migrations

INDEX = "ticket_search_fts_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON tickets_ticket "
            "USING gin (to_tsvector('english'::regconfig, search_text))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_ticket_search_text")]
    operations = [migrations.RunPython(create, drop)]
