"""A campaign's hosted forms (``campaigns[].forms``) compiled against its vertical."""

from __future__ import annotations

from typing import Any

import pytest

from pingtree.config.compile import CompiledConfig, compile_config
from pingtree.config.errors import ConfigError
from pingtree.config.parse import parse_config
from pingtree.domain.forms import input_type
from tests.api.market import campaign, marketplace


def _compiled(*forms: dict[str, Any], second: list[dict[str, Any]] | None = None) -> CompiledConfig:
    campaigns = [campaign(forms=list(forms))]
    if second is not None:
        campaigns.append(campaign("acme_two", forms=second))
    return compile_config(parse_config(marketplace([], campaigns)))


def _issues(*forms: dict[str, Any], **more: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as refused:
        _compiled(*forms, **more)
    return {issue.path: issue.msg for issue in refused.value.issues}


ASKED = ["zip", "state", "age", "first_name", "email", "phone"]


def test_a_form_is_built_from_its_verticals_fields_in_steps() -> None:
    config = _compiled(
        {
            "id": "quote",
            "title": "Compare quotes",
            "steps": [
                {"title": "Your car", "fields": ["zip", "state", {"name": "age", "help": "18+"}]},
                {
                    "title": "You",
                    "fields": [{"name": "first_name", "label": "Your name"}, "email", "phone"],
                },
            ],
            "consent": "I agree to be called.",
            "frame_ancestors": ["https://www.acme.example", "https://*.acme.example:8443"],
        }
    )
    (form,) = config.campaigns["acme_auto"].forms
    assert (form.id, form.campaign_id, form.consent_text) == (
        "quote",
        "acme_auto",
        "I agree to be called.",
    )
    assert [s.title for s in form.steps] == ["Your car", "You"]
    assert [f.name for f in form.fields] == ASKED
    age, name = form.fields[2], form.fields[3]
    assert (age.label, age.help, age.required) == ("age", "18+", True)
    assert (name.label, name.required) == ("Your name", True)
    assert [input_type(f.spec) for f in form.fields] == [
        "text",
        "text",
        "number",
        "text",
        "email",
        "tel",
    ]
    assert form.frame_ancestors == ("https://www.acme.example", "https://*.acme.example:8443")


def test_what_a_form_cannot_be() -> None:
    issues = _issues(
        {
            "id": "quote",
            "title": "Q",
            "fields": ["zip", "sub_id", "shoe_size", "zip", "state"],
            "frame_ancestors": ["evil", "https://ok.example/path"],
        }
    )
    at = "suppliers[0].campaigns[0].forms[0]"
    assert issues == {
        f"{at}.fields[1]": "a tracking field: carried from the page or filled by the form",
        f"{at}.fields[2]": "auto has no such field",
        f"{at}.fields[3]": "asked twice in the form",
        f"{at}": "a post requires age, first_name, phone, email: ask for it",
        f"{at}.frame_ancestors[0]": "not an origin: https://host[:port]",
        f"{at}.frame_ancestors[1]": "not an origin: https://host[:port]",
    }


def test_a_form_id_is_its_url_so_it_is_unique_in_the_marketplace() -> None:
    form = {"id": "quote", "title": "Q", "fields": ASKED}
    issues = _issues(form, second=[form])
    assert issues == {
        "suppliers[0].campaigns[1].forms[0].id": "campaign acme_auto has a form with this id"
    }


def _with_consent(form: dict[str, Any], **consent: Any) -> CompiledConfig:
    texts = [
        {"version": "v1", "text": "Old words.", "retired_at": "2026-01-01T00:00:00Z"},
        {"version": "v2", "text": "I agree   to be called."},
    ]
    spec = campaign(forms=[form], consent={"texts": texts, **consent})
    return compile_config(parse_config(marketplace([], [spec])))


def test_a_form_shows_the_campaigns_current_consent_text() -> None:
    form = {"id": "quote", "title": "Q", "fields": ASKED}
    config = _with_consent(form, require=["text", "time", "ip", "page_url"])
    (compiled,) = config.campaigns["acme_auto"].forms
    assert compiled.consent_text == "I agree   to be called."
    # its own text must be a current version (white space aside), never a retired one
    ok = _with_consent({**form, "consent": "I agree to be called."}, require=["text"])
    assert ok.campaigns["acme_auto"].forms[0].consent_text == "I agree to be called."
    with pytest.raises(ConfigError) as old:
        _with_consent({**form, "consent": "Old words."}, require=["text"])
    assert [(i.path, i.msg) for i in old.value.issues] == [
        (
            "suppliers[0].campaigns[0].forms[0].consent",
            "not a current version of the campaign's consent text",
        )
    ]


def test_a_form_cannot_give_a_certificate_the_campaign_requires() -> None:
    with pytest.raises(ConfigError) as refused:
        _with_consent({"id": "quote", "title": "Q", "fields": ASKED})  # requires all five
    (issue,) = refused.value.issues
    assert issue.path == "suppliers[0].campaigns[0].forms[0]"
    assert issue.msg.startswith("the campaign's consent requires a certificate")


def test_a_form_needs_a_campaign_that_takes_direct_posts() -> None:
    spec = campaign(modes=["ping_post"], forms=[{"id": "quote", "title": "Q", "fields": ASKED}])
    with pytest.raises(ConfigError) as refused:
        compile_config(parse_config(marketplace([], [spec])))
    assert [(i.path, i.msg) for i in refused.value.issues] == [
        ("suppliers[0].campaigns[0].modes", "a form's flow is direct_post: add direct_post")
    ]
