"""The orjson renderer writes the documents DRF's JSONRenderer writes (issue 17: faster
serialization behind the same response shapes)."""

import datetime
import decimal
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from quimbi_support.renderers import FastJSONRenderer

UTC = datetime.UTC
SAMPLES = [
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"at": datetime.datetime(2026, 12, 1, 6, 30, tzinfo=UTC)},
    {"at": datetime.datetime(2026, 12, 1, 6, 30, 5, 123456, tzinfo=UTC)},
    {"at": datetime.datetime(2026, 12, 1, 6, 30, tzinfo=ZoneInfo("UTC"))},
    {"at": datetime.datetime(2026, 12, 1, 6, 30, 1, 5, tzinfo=ZoneInfo("Europe/Berlin"))},
    {"day": datetime.date(2026, 2, 28), "time": datetime.time(9, 30)},
    {"score": 12.5, "n": 3, "none": None, "yes": True, "ratio": 0.1},
    {"money": decimal.Decimal("19.99"), "wait": datetime.timedelta(minutes=90)},
    {"message": gettext_lazy("This field is required.")},
    {"text": 'Grüße — “quoted” \u2028 line \u2029 para \n\t\\ "x" \x01 emoji 🎉'},
    {"nested": [{"tags": ["vip", "refund"], "meta": {}}, [], ()]},
    {1: "int key", "list": list(range(3))},
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_same_document_as_drfs_renderer(data):
    ours = FastJSONRenderer().render(data, "application/json")
    theirs = JSONRenderer().render(data, "application/json")
    assert json.loads(ours) == json.loads(theirs)
    assert b"\xe2\x80\xa8" not in ours and b"\xe2\x80\xa9" not in ours  # escaped, as DRF does


def test_utc_instants_and_ids_are_written_as_drf_writes_them():
    data = {"at": datetime.datetime(2026, 12, 1, 6, 30, 5, 123456, tzinfo=UTC), "id": SAMPLES[0]}
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_indent_asks_for_drfs_pretty_printing():
    data = {"a": [1, 2]}
    pretty = FastJSONRenderer().render(data, "application/json; indent=4")
    assert pretty == JSONRenderer().render(data, "application/json; indent=4")
    assert b"\n    " in pretty


def test_api_answers_are_rendered_by_it(key_client, make_ticket):
    make_ticket()
    response = key_client.get("/api/v1/tickets?limit=5")
    assert isinstance(response.accepted_renderer, FastJSONRenderer)
    body = response.json()
    assert body["tickets"][0]["created_at"].endswith("Z")
    assert response.content == JSONRenderer().render(response.data)
