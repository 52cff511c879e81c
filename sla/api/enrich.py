"""The `sla` block of ticket answers (plugged into the ticket API in SlaConfig.ready)."""

from sla.selectors import sla_blocks, sla_detail


def sla_list_enrich(tickets, items) -> None:
    if not tickets:
        return
    blocks = sla_blocks(tickets)
    for ticket, item in zip(tickets, items, strict=True):
        item["sla"] = blocks[ticket.pk]


def sla_detail_enrich(ticket, data) -> None:
    data["sla"] = sla_detail(ticket)
