"""Form and query fields that carry whole documents (``body.documents``): compiled with
paths of their own, PII kept out of pings, masked in the delivery log (issue 16)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.render import render, render_masked
from tests.delivery.support import compile_spec, resolve_secret

DOCUMENT = {
    "to": "lead",
    "fields": [{"from": "zip", "to": "zip"}, {"from": "email", "to": "contact/email"}],
}


def _step(**body: object) -> dict[str, object]:
    return {"url": "https://b.example/x", "content_type": "form", "body": body}


def test_a_documents_issues_are_at_its_own_paths_and_pii_stays_out_of_a_ping() -> None:
    with pytest.raises(DeliveryConfigError) as caught:
        compile_spec(
            {
                "ping": {
                    **_step(fields=[], documents=[DOCUMENT, {"to": "lead", "fields": []}]),
                    "response": {"bid": {"json": "$.p"}},
                },
                "post": {"url": "https://b.example/post"},
            }
        )
    assert dict(caught.value.issues) == {
        "ping.body.documents[0].fields[1].from": "PII never goes into a ping (field 'email')",
        "ping.body.documents[1].to": "'lead' is already a document field",
    }


def test_a_posts_document_reads_pii_and_the_log_masks_it() -> None:
    step = compile_spec({"post": _step(documents=[DOCUMENT])}).post
    assert step.fields_used == {"zip", "email"}
    values = {"zip": "33101", "email": "ana&bo@example.com"}
    sent = render(step, values, resolve_secret=resolve_secret)
    (pair,) = parse_qsl(sent.body.decode())
    assert pair == (
        "lead",
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<lead><zip>33101</zip><contact><email>ana&amp;bo@example.com</email></contact></lead>",
    )
    shown = render_masked(step, values, frozenset({"email"}), resolve_secret=resolve_secret)
    assert b"ana" not in shown.body
    assert "<email>{{email}}</email>" in dict(parse_qsl(shown.body.decode()))["lead"]
