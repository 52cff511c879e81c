"""Full-text search on PostgreSQL over a stored tsvector column with its own GIN index,
replacing the expression index of 0003: a bitmap recheck reads the stored vector instead
of re-parsing every row's text.

The column is kept by a trigger that fires only when search_text is written (not a
generated column, which PostgreSQL recomputes on every UPDATE of the row: score
refreshes would re-parse every ticket's text)."""

from django.db import migrations

FORWARD = [
    "DROP INDEX IF EXISTS ticket_search_fts_idx",
    "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_vector tsvector",
    """
    CREATE OR REPLACE FUNCTION tickets_ticket_search_vector() RETURNS trigger AS $$
    BEGIN
        NEW.search_vector := to_tsvector('english'::regconfig, coalesce(NEW.search_text, ''));
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS tickets_ticket_search_vector ON tickets_ticket",
    """
    CREATE TRIGGER tickets_ticket_search_vector
    BEFORE INSERT OR UPDATE OF search_text ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_vector()
    """,
    "UPDATE tickets_ticket SET search_vector = "
    "to_tsvector('english'::regconfig, coalesce(search_text, ''))",
    "CREATE INDEX IF NOT EXISTS ticket_search_vector_idx ON tickets_ticket "
    "USING gin (search_vector)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS ticket_search_vector_idx",
    "DROP TRIGGER IF EXISTS tickets_ticket_search_vector ON tickets_ticket",
    "DROP FUNCTION IF EXISTS tickets_ticket_search_vector()",
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_vector",
    "CREATE INDEX IF NOT EXISTS ticket_search_fts_idx ON tickets_ticket "
    "USING gin (to_tsvector('english'::regconfig, search_text))",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_list_indexes")]
    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
