"""A date hierarchy for very large changelists.

Django's `{% date_hierarchy %}` lists the years, months or days that have rows with a
`SELECT DISTINCT date_trunc(...)` over the filtered set: a scan of the whole table at a
million tickets. This one reads only MIN/MAX of the field (two index probes) and offers
every year, month or day in that range; a period without tickets shows an empty page.
"""

import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy as django_hierarchy
from django.db import models
from django.utils import formats, timezone
from django.utils.text import capfirst

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def fast_date_hierarchy(cl):
    field_name = cl.date_hierarchy
    if not field_name:
        return {"show": False}
    year_field, month_field = f"{field_name}__year", f"{field_name}__month"
    year, month = cl.params.get(year_field), cl.params.get(month_field)
    if cl.params.get(f"{field_name}__day") or (year and month):
        # A single month's days: bounded by the month, Django's own query is cheap.
        return django_hierarchy(cl)

    def link(filters):
        return cl.get_query_string(filters, [f"{field_name}__"])

    if year:
        year = int(year)
        return {
            "show": True,
            "back": {"link": link({}), "title": "All dates"},
            "choices": [
                {
                    "link": link({year_field: year, month_field: m}),
                    "title": capfirst(
                        formats.date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")
                    ),
                }
                for m in range(1, 13)
            ],
        }
    bounds = cl.queryset.aggregate(first=models.Min(field_name), last=models.Max(field_name))
    if not bounds["first"]:
        return {"show": False}
    first, last = (timezone.localtime(v) for v in (bounds["first"], bounds["last"]))
    if first.year == last.year:
        return {
            "show": True,
            "choices": [
                {
                    "link": link({year_field: first.year, month_field: m}),
                    "title": capfirst(
                        formats.date_format(datetime.date(first.year, m, 1), "YEAR_MONTH_FORMAT")
                    ),
                }
                for m in range(first.month, last.month + 1)
            ],
        }
    return {
        "show": True,
        "choices": [
            {"link": link({year_field: y}), "title": str(y)}
            for y in range(first.year, last.year + 1)
        ],
    }
