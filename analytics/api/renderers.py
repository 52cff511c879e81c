"""The CSV download of a metrics table (`?format=csv`)."""

import csv
import io

from rest_framework.renderers import BaseRenderer

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(
            str(v.get("name") or v.get("email") or "") if isinstance(v, dict) else str(v)
            for v in value
        )
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class CSVRenderer(BaseRenderer):
    """Renders the view's table (`view.table_key`, a list of flat dicts) as CSV; any
    other answer (an error) as one row of its keys."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view = (renderer_context or {}).get("view")
        key = getattr(view, "table_key", None)
        rows = data.get(key) if isinstance(data, dict) and key else None
        if not isinstance(rows, list):
            rows = [data] if isinstance(data, dict) else []
        out = io.StringIO()
        row_serializer = getattr(view, "table_row_serializer", None)
        if rows:
            columns = list(rows[0].keys())
        elif row_serializer is not None:  # an empty table still has its header line
            columns = list(row_serializer().fields)
        else:
            columns = ["detail"]
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return out.getvalue().encode(self.charset)
