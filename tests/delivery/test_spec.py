"""Compiling a delivery spec: every issue is found, with its path relative to ``delivery``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.presets import PRESETS
from pingtree.delivery.spec import DeliverySpec, StepSpec, compile_delivery
from tests.delivery.support import KNOWN, PII, compile_spec


def _ping(**overrides: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "url": "https://api.buyer.example/ping",
        "body": {"fields": [{"from": "zip", "to": "lead.zip"}]},
        "response": {"bid": {"json": "$.price"}},
    }
    step.update(overrides)
    return step


def _post(**overrides: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "url": "https://api.buyer.example/post",
        "body": {"fields": [{"from": "email", "to": "email"}]},
    }
    step.update(overrides)
    return step


def _issues(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DeliveryConfigError) as caught:
        compile_spec(raw)
    assert str(caught.value).splitlines() == [
        f"{p}: {m}" if p else m for p, m in caught.value.issues
    ]
    return list(caught.value.issues)


def _paths(raw: dict[str, Any]) -> list[str]:
    return [path for path, _ in _issues(raw)]


def _one(raw: dict[str, Any], path: str, contains: str) -> None:
    issues = _issues(raw)
    assert any(p == path and contains in m for p, m in issues), issues


# --- a valid spec ------------------------------------------------------------------------


def test_compiles_with_defaults() -> None:
    delivery = compile_spec({"ping": _ping(), "post": _post()})
    assert delivery.ping is not None
    assert (delivery.ping.method, delivery.ping.content_type) == ("POST", "json")
    assert (delivery.ping.timeout_ms, delivery.post.timeout_ms) == (1000, 15000)
    assert (delivery.ping.retries, delivery.post.retries) == (0, 0)
    assert delivery.ping.fields_used == {"zip"}
    assert delivery.post.fields_used == {"email"}


def test_post_same_as_ping_inherits_keys_it_does_not_set() -> None:
    ping = _ping(
        method="PUT",
        headers={"X-Source": "pt"},
        timeout_ms=700,
        content_type="json",
        auth={"type": "bearer", "token": {"secret": "t"}},
    )
    post = {"same_as": "ping", "url": "https://api.buyer.example/post", "retries": 3}
    delivery = compile_spec({"ping": ping, "post": post})
    assert delivery.ping is not None
    assert delivery.post.method == "PUT"
    assert delivery.post.timeout_ms == 700
    assert delivery.post.retries == 3
    assert delivery.post.headers == delivery.ping.headers
    assert delivery.post.auth == delivery.ping.auth
    assert delivery.post.body == delivery.ping.body
    assert delivery.post.url != delivery.ping.url


def test_post_only_delivery_needs_no_rules() -> None:
    delivery = compile_spec({"post": _post()})
    assert delivery.ping is None
    assert delivery.post.response.accepted is None


def test_models_are_exported_and_forbid_extra_keys() -> None:
    spec = DeliverySpec.model_validate({"ping": _ping(), "post": _post()})
    assert isinstance(spec.ping, StepSpec)
    assert _paths({"post": _post(retry=1)}) == ["post.retry"]


# --- PII and names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "path"),
    [
        ({"body": {"fields": [{"from": "phone", "to": "p"}]}}, "ping.body.fields[0].from"),
        (
            {"content_type": "xml", "body": {"template": "<a>{{ email }}</a>"}},
            "ping.body.template",
        ),
        ({"url": "https://b.example/ping/{last_name}"}, "ping.url"),
        ({"headers": {"X-Who": "{first_name}"}}, "ping.headers.X-Who"),
    ],
)
def test_pii_never_goes_into_a_ping(step: dict[str, Any], path: str) -> None:
    _one({"ping": _ping(**step), "post": _post()}, path, "PII never goes into a ping")


def test_the_same_pii_is_fine_in_a_post() -> None:
    post = _post(
        url="https://b.example/post/{last_name}",
        headers={"X-Who": "{first_name}"},
        content_type="xml",
        body={"template": "<a>{{ email }}{{ phone }}</a>"},
    )
    delivery = compile_spec({"ping": _ping(), "post": post})
    assert delivery.post.fields_used == {"last_name", "first_name", "email", "phone"}


def test_a_ping_overridden_by_a_post_keeps_its_pii_check() -> None:
    ping = _ping(body={"fields": [{"from": "email", "to": "e"}]})
    post = {"same_as": "ping", "url": "https://api.buyer.example/post"}
    # the inherited issue is reported once, where it was written
    assert _issues({"ping": ping, "post": post}) == [
        ("ping.body.fields[0].from", "PII never goes into a ping (field 'email')")
    ]


def test_unknown_names() -> None:
    ping = _ping(
        url="https://b.example/{nope}",
        body={"fields": [{"from": "zip", "to": "z"}, {"from": "zipcode", "to": "y"}]},
    )
    post = _post(content_type="text", body={"template": "{{ typo }}"})
    assert _issues({"ping": ping, "post": post}) == [
        ("ping.url", "unknown placeholder 'nope': not a field of the vertical"),
        ("ping.body.fields[1].from", "unknown field 'zipcode'"),
        ("post.body.template", "unknown template variable 'typo': not a field of the vertical"),
    ]


def test_token_only_in_a_post() -> None:
    ping = _ping(body={"fields": [{"from": "token", "to": "t"}]})
    _one({"ping": ping, "post": _post()}, "ping.body.fields[0].from", "post steps only")
    post = _post(body={"fields": [{"from": "token", "to": "t"}]}, headers={"X-Ping": "{token}"})
    assert compile_spec({"ping": _ping(), "post": post}).post.fields_used == set()


def test_vars_fill_placeholders_and_may_not_shadow_fields() -> None:
    ok = _post(url="https://b.example/{campaign}", vars={"campaign": "c1"})
    assert compile_spec({"post": ok}).post.vars == {"campaign": "c1"}
    bad = _post(vars={"zip": "1", "token": "2", "a-b": "3", "c": "x\ny"})
    assert _paths({"post": bad}) == [
        "post.vars.zip",
        "post.vars.token",
        "post.vars.a-b",
        "post.vars.c",
    ]


# --- steps ---------------------------------------------------------------------------------


def test_post_is_required() -> None:
    assert _issues({"ping": _ping()}) == [("post", "a delivery needs a post step")]


def test_url_is_required_and_http() -> None:
    post = _post()
    del post["url"]
    assert _issues({"post": post}) == [("post.url", "required")]
    _one({"post": _post(url="ftp://b.example/x")}, "post.url", "http:// or https://")
    _one({"post": _post(url="file:///etc/passwd")}, "post.url", "http:// or https://")
    _one({"post": _post(url="https://b.example/a b")}, "post.url", "spaces")
    _one({"post": _post(url="https://u:p@b.example/")}, "post.url", "credentials")
    _one({"post": _post(url="https://b.example/#x")}, "post.url", "fragment")
    _one({"post": _post(url="https:///path")}, "post.url", "no host")


@pytest.mark.parametrize(
    "url",
    ["https://{zip}.example/x", "https://b.example{zip}/x", "https://api.{zip}", "{zip}"],
)
def test_no_placeholder_in_the_host(url: str) -> None:
    issues = _issues({"post": _post(url=url)})
    assert [p for p, _ in issues] == ["post.url"]


def test_lone_brace_in_url() -> None:
    _one({"post": _post(url="https://b.example/{a")}, "post.url", "lone '{'")
    assert compile_spec({"post": _post(url="https://b.example/{{x}}")}).post.url.literal == (
        "https://b.example/{x}"
    )


def test_same_as_must_resolve() -> None:
    _one({"post": _post(same_as="ping")}, "post.same_as", "no ping step")
    _one({"ping": _ping(), "post": _post(same_as="pong")}, "post.same_as", "only 'ping'")
    _one({"ping": _ping(same_as="post"), "post": _post()}, "ping.same_as", "only a post")


def test_retries_are_bounded_and_on_unknown_is_for_posts_only() -> None:
    delivery = compile_spec({"ping": _ping(retries=2), "post": _post()})
    assert delivery.ping is not None
    assert delivery.ping.retries == 2
    _one({"ping": _ping(on_unknown="retry"), "post": _post()}, "ping.on_unknown", "never re")
    assert _paths({"post": _post(retries=9)}) == ["post.retries"]


def test_get_sends_no_body() -> None:
    _one({"post": _post(method="GET")}, "post.method", "content_type query")
    delivery = compile_spec({"post": _post(method="GET", content_type="query")})
    assert delivery.post.body is not None
    assert delivery.post.body.in_query


# --- headers and auth ------------------------------------------------------------------------


def test_header_names_and_values() -> None:
    post = _post(
        headers={
            "X-Ok": "fine",
            "Bad Name": "x",
            "X-Split": "a\r\nX-Injected: 1",
            "Content-Length": "3",
            "X-Nul": "a\x00",
        }
    )
    issues = _issues({"post": post})
    assert [p for p, _ in issues] == [
        "post.headers.Bad Name",
        "post.headers.X-Split",
        "post.headers.Content-Length",
        "post.headers.X-Nul",
    ]
    assert "CR, LF" in issues[1][1]


def test_auth_needs_its_values() -> None:
    assert _paths({"post": _post(auth={"type": "basic", "username": "u"})}) == [
        "post.auth.password"
    ]
    assert _paths({"post": _post(auth={"type": "bearer", "token": "t", "name": "x"})}) == [
        "post.auth.name"
    ]
    _one({"post": _post(auth={"type": "query", "name": "", "value": "v"})}, "post.auth.name", "")
    _one(
        {"post": _post(auth={"type": "basic", "username": "a:b", "password": "p"})},
        "post.auth.username",
        "':'",
    )
    _one(
        {"post": _post(auth={"type": "header", "name": "X:Y", "value": "v"})},
        "post.auth.name",
        "header name",
    )
    _one(
        {"post": _post(auth={"type": "bearer", "token": "a\nb"})},
        "post.auth.token",
        "control characters",
    )


def test_auth_header_cannot_clash_with_headers() -> None:
    post = _post(headers={"Authorization": "x"}, auth={"type": "bearer", "token": "t"})
    _one({"post": post}, "post.auth", "already set Authorization")
    post = _post(headers={"x-key": "x"}, auth={"type": "header", "name": "X-Key", "value": "v"})
    _one({"post": post}, "post.auth.name", "already set")


def test_secret_references_are_checked() -> None:
    assert _issues({"post": _post(auth={"type": "bearer", "token": {"secret": "a b"}})}) == [
        (
            "post.auth.token",
            "Value error, a secret name is letters, digits, '_', '.', '-' (at most 64)",
        )
    ]
    assert _paths({"post": _post(auth={"type": "bearer", "token": {"secrets": "a"}})}) == [
        "post.auth.token"
    ]


# --- bodies ------------------------------------------------------------------------------------


def test_body_needs_fields_or_template() -> None:
    _one({"post": _post(body={})}, "post.body", "exactly one of fields and template")
    body = {"fields": [{"from": "zip", "to": "z"}], "template": "x"}
    _one({"post": _post(body=body, content_type="xml")}, "post.body", "exactly one")


@pytest.mark.parametrize("content_type", ["json", "form", "query"])
def test_templates_are_for_xml_and_text(content_type: str) -> None:
    post = _post(content_type=content_type, body={"template": "{{ zip }}"})
    _one({"post": post}, "post.body.template", "built from fields")


def test_text_needs_a_template() -> None:
    post = _post(content_type="text", body={"fields": [{"from": "zip", "to": "z"}]})
    _one({"post": post}, "post.body.fields", "from a template")


def test_form_field_and_document_and_root() -> None:
    _one(
        {"post": _post(body={"fields": [{"from": "zip", "to": "z"}], "form_field": "x"})},
        "post.body.form_field",
        "only with content_type form",
    )
    body = {"fields": [{"from": "zip", "to": "z"}], "document": "json"}
    _one({"post": _post(content_type="form", body=body)}, "post.body.document", "form_field")
    _one(
        {"post": _post(body={"fields": [{"from": "zip", "to": "z"}], "root": "r"})},
        "post.body.root",
        "only for an XML body",
    )
    _one(
        {
            "post": _post(
                content_type="xml", body={"fields": [{"from": "zip", "to": "z"}], "root": "1x"}
            )
        },
        "post.body.root",
        "XML element name",
    )
    body = {"fields": [{"from": "zip", "to": "z"}], "form_field": "data", "document": "json"}
    delivery = compile_spec({"post": _post(content_type="form", body=body)})
    assert delivery.post.body is not None
    assert delivery.post.body.document == "json"


def test_field_entries() -> None:
    fields = [
        {"to": "a"},
        {"from": "zip", "value": "1", "to": "b"},
        {"value": "1", "default": "2", "to": "c"},
        {"from": "age", "to": "d", "as": "integer", "format": "dashed"},
        {"from": "date_of_birth", "to": "e", "format": "%m/%d/%Q"},
        {"from": "date_of_birth", "to": "f", "format": "MM/DD/YYYY"},
        {"from": "zip", "to": "g..h"},
        {"from": "zip", "to": "ok", "format": "%Y-%m-%d"},
    ]
    issues = _issues({"post": _post(body={"fields": fields})})
    assert [p for p, _ in issues] == [
        "post.body.fields[0]",
        "post.body.fields[1]",
        "post.body.fields[2].default",
        "post.body.fields[3].format",
        "post.body.fields[4].format",
        "post.body.fields[5].format",
        "post.body.fields[6].to",
    ]
    assert "%Q" in issues[4][1]


def test_field_targets_cannot_clash() -> None:
    fields = [
        {"from": "zip", "to": "lead.zip"},
        {"from": "state", "to": "lead.zip"},
        {"from": "age", "to": "lead"},
        {"from": "city", "to": "lead.zip.plus4"},
        {"from": "gender", "to": "lead.gender"},
    ]
    assert _paths({"post": _post(body={"fields": fields})}) == [
        "post.body.fields[1].to",
        "post.body.fields[2].to",
        "post.body.fields[3].to",
    ]


def test_xml_targets() -> None:
    fields = [
        {"from": "zip", "to": "Lead/Zip"},
        {"from": "state", "to": "Lead/@state"},
        {"from": "age", "to": "Lead.Age"},
        {"from": "city", "to": "@city"},
        {"from": "gender", "to": "Lead/Zip/@kind"},
        {"from": "email", "to": "Lead/1bad"},
        {"from": "phone", "to": "xmlns"},
        {"from": "address", "to": "Lead/Zip/Sub"},
        {"from": "first_name", "to": "Lead/@state"},
    ]
    post = _post(content_type="xml", body={"fields": fields})
    assert _paths({"post": post}) == [
        "post.body.fields[5].to",
        "post.body.fields[6].to",
        "post.body.fields[7].to",
        "post.body.fields[8].to",
    ]


# --- templates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "contains"),
    [
        ("{{ ''.__class__ }}", "'__class__'"),
        ("{{ zip['__class__'] }}", "'__class__'"),
        ("{{ zip|attr('__class__') }}", "'__class__'"),
        ("{{ zip.__len__() }}", "'__len__'"),
        ("{% include 'x' %}", "include"),
        ("{% import 'x' as y %}", "import"),
        ("{% extends 'x' %}", "extends"),
        ("{% autoescape false %}{{ zip }}{% endautoescape %}", "autoescape"),
        ("{{ zip|safe }}", "unknown filter 'safe'"),
        ("{{ zip ", "syntax error"),
        ("{{ zip|nosuch }}", "nosuch"),
        ("{% if zip %}{{ zip|nosuch }}{% endif %}", "unknown filter 'nosuch'"),
        ("{% if zip is nosuch %}{% endif %}", "unknown test 'nosuch'"),
        ("{{ range(10) }}", "'range'"),
        ("x" * 70_000, "longer than"),
    ],
)
def test_template_refused(template: str, contains: str) -> None:
    post = _post(content_type="xml", body={"template": template})
    _one({"post": post}, "post.body.template", contains)


def test_template_names_are_fields_token_and_vars() -> None:
    post = _post(
        content_type="text",
        vars={"source": "pt"},
        body={"template": "{% for c in zip %}{{ c }}{{ loop.index }}{% endfor %}{{ source }}"},
    )
    assert compile_spec({"post": post}).post.fields_used == {"zip"}


# --- response rules ----------------------------------------------------------------------------


def test_rule_expressions_compile() -> None:
    response = {
        "accepted": {"json": "$[", "equals": ["ok"]},
        "rejected": [
            {"xpath": "//[", "present": True},
            {"regex": "(a", "present": True},
            {"json": "$.x", "matches": "(?<=a)b"},
        ],
        "bid": {"regex": "(\\d+"},
        "token": {"status": [200]},
        "redirect_url": {"json": "$.u", "xpath": "/u"},
        "reason": {},
    }
    issues = _issues({"post": _post(response=response)})
    assert [p for p, _ in issues] == [
        "post.response.accepted.json",
        "post.response.rejected[0].xpath",
        "post.response.rejected[1].regex",
        "post.response.rejected[2].matches",
        "post.response.bid.regex",
        "post.response.token.status",
        "post.response.redirect_url",
        "post.response.reason",
    ]
    assert issues[0][1].startswith("not a JSONPath")
    assert issues[2][1].startswith("not an RE2 pattern: missing )")
    assert "RE2" in issues[3][1]  # look-behind: Python's re has it, RE2 does not


def test_verdict_rules_need_a_test() -> None:
    response = {"accepted": {"json": "$.ok"}, "rejected": {"status": [404, 410]}}
    _one(
        {"post": _post(response=response)}, "post.response.accepted", "equals, matches, present, gt"
    )


def test_rule_tests() -> None:
    response = {
        "accepted": {"json": "$.ok", "present": False, "equals": ["x"]},
        "rejected": {"json": "$.ok", "equals": []},
        "bid": {"status": [200]},
    }
    assert _paths({"post": _post(response=response)}) == [
        "post.response.accepted.present",
        "post.response.rejected.equals",
        "post.response.bid.status",
    ]
    bad_status = {"rejected": {"status": [99, 600]}}
    _one({"post": _post(response=bad_status)}, "post.response.rejected.status", "100 to 599")


def test_a_ping_reads_a_bid() -> None:
    _one(
        {"ping": _ping(response={}), "post": _post()},
        "ping.response.bid",
        "must read the buyer's bid",
    )


# --- shape errors ------------------------------------------------------------------------------


def test_shape_errors_carry_yaml_paths() -> None:
    raw = {
        "ping": {
            "url": 3,
            "method": "PATCH",
            "content_type": "soap",
            "timeout_ms": 0,
            "body": {"fields": [{"from": "zip", "to": "z"}, {"from": "zip", "to": 1, "as": "int"}]},
            "response": {
                "accepted": {"jsonpath": "$.x"},
                "rejected": [{"json": "$.x", "equals": "x"}],
                "bid": {"json": "$.p", "equals": [None]},
            },
        },
        "extra": {},
    }
    assert _paths(raw) == [
        "ping.url",
        "ping.method",
        "ping.content_type",
        "ping.timeout_ms",
        "ping.body.fields[1].to",
        "ping.body.fields[1].as",
        "ping.response.accepted.jsonpath",
        "ping.response.rejected[0].equals",
        "ping.response.bid.equals[0]",
        "extra",
    ]


def test_not_a_mapping() -> None:
    with pytest.raises(DeliveryConfigError) as caught:
        compile_delivery(["post"], PII, KNOWN)  # type: ignore[arg-type]
    assert len(caught.value.issues) == 1


def test_every_issue_not_just_the_first() -> None:
    raw = {
        "ping": _ping(url="ftp://x", body={"fields": [{"from": "email", "to": "e"}]}, response={}),
        "post": _post(headers={"X": "a\nb"}, response={"bid": {"json": "$["}}),
    }
    assert _paths(copy.deepcopy(raw)) == [
        "ping.url",
        "ping.body.fields[0].from",
        "ping.response.bid",
        "post.headers.X",
        "post.response.bid.json",
    ]


# --- presets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_compiles(name: str) -> None:
    post = {
        "preset": name,
        "url": "https://b.example/p",
        "body": {"fields": [{"from": "zip", "to": "zip"}]},
    }
    delivery = compile_spec({"ping": {**post, "url": "https://b.example/ping"}, "post": post})
    assert delivery.post.response.accepted is not None
    assert delivery.post.response.rejected is not None


def test_a_step_overrides_its_preset_key_by_key_and_rule_by_rule() -> None:
    ping = _ping(preset="xml_response", timeout_ms=300)
    delivery = compile_spec({"ping": ping, "post": _post(same_as="ping")})
    assert delivery.ping is not None
    assert delivery.ping.content_type == "xml"  # from the preset
    assert delivery.ping.timeout_ms == 300
    # the ping's own bid rule replaced the preset's; the other rules stayed
    assert delivery.ping.response.bid != _preset_step("xml_response").response.bid
    assert delivery.ping.response.token is not None
    # the post inherits what the ping got from its preset
    assert delivery.post.content_type == "xml"
    assert delivery.post.timeout_ms == 300
    assert delivery.post.response.token is not None


def test_a_posts_own_preset_wins_over_the_ping() -> None:
    delivery = compile_spec(
        {"ping": _ping(content_type="form"), "post": _post(same_as="ping", preset="json_status")}
    )
    assert delivery.post.content_type == "json"


def _preset_step(name: str) -> CompiledStep:
    return compile_spec({"post": {"preset": name, "url": "https://b.example/p"}}).post
