"""Fill the denormalised search_text and tag_names of tickets created before them."""

from django.db import migrations

BATCH = 1000
SEARCH_TEXT_MAX = 20_000


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    Message = apps.get_model("tickets", "Message")
    pending = Ticket.objects.filter(search_text="").order_by("pk")
    last = None
    while True:
        page = list((pending if last is None else pending.filter(pk__gt=last))[:BATCH])
        if not page:
            return
        for ticket in page:
            texts = (
                Message.objects.filter(ticket=ticket, is_internal=False)
                .order_by("created_at")
                .values_list("content", flat=True)
            )
            ticket.search_text = "\n".join([ticket.subject, *texts]).lower()[:SEARCH_TEXT_MAX]
            ticket.tag_names = sorted(ticket.tags.values_list("name", flat=True))
        Ticket.objects.bulk_update(page, ["search_text", "tag_names"])
        last = page[-1].pk


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_ticket_tag_names")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
