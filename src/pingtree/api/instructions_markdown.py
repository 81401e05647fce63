"""A campaign's posting instructions as Markdown: the model of ``api.instructions_model``
written out for a seller's developer (the admin page renders the same model as HTML)."""

from __future__ import annotations

from collections.abc import Iterable

from pingtree.api.instructions_inbound import ProfileDoc
from pingtree.api.instructions_model import FieldDoc, Instructions

__all__ = ["instructions_markdown"]


def instructions_markdown(ins: Instructions) -> str:
    """The whole document, ending with a line feed."""
    parts = [
        f"# Posting instructions: {ins.campaign_name}",
        f"Campaign `{ins.campaign_id}` of supplier `{ins.supplier_id}` sells"
        f" **{ins.vertical_name}** leads by {' and '.join(ins.modes)}. Generated from"
        f" configuration version {ins.config_version}; the machine-readable form is the"
        f" OpenAPI 3.1 document at <{ins.openapi_url}>.",
        "## Endpoints",
        _table(("Method", "URL", "What it does"), [(m, f"`{u}`", d) for m, u, d in ins.endpoints]),
        "## Authentication",
        f"Each call carries the campaign's API key (shown once when it is created; it is not"
        f" printed here). The examples read it from the shell variable `${ins.key_variable}`:"
        f" `export {ins.key_variable}=<your campaign key>`. Send it one of three ways:",
        _bullets(
            [
                "`Authorization: Bearer <key>`",
                "`X-Api-Key: <key>`",
                "an `api_key` field in the body (JSON or form)",
            ]
        ),
        "## Timing",
        _bullets(ins.timing),
        "## Fields",
        ins.fields_note,
        _table(
            ("Field", "Type", "Ping", "Post", "PII", "Allowed values and format"),
            [_field_row(f) for f in ins.fields],
        ),
        "## Answers",
        "Every business outcome is HTTP 200 with a `status`:",
        _table(("status", "meaning"), [(f"`{s}`", m) for s, m in ins.statuses]),
        "### Reasons",
        "A `rejected` answer lists `reasons`. They never name a buyer or a price.",
        _table(("reason", "meaning"), [(f"`{r}`", m) for r, m in ins.reasons]),
        "### Errors",
        "Bad input and refusals are 4xx (503 under load) with a JSON `detail`:",
        _table(("HTTP", "meaning"), [(str(code), m) for code, m in ins.errors]),
        "## Idempotency-Key",
        _bullets(ins.idempotency),
        "## Test mode",
        ins.test_note,
        "## Examples",
        "The examples send test leads (`test: true`); leave `test` out to sell for real."
        f" In the post, replace `{ins.ping_id_placeholder}` by the `ping_id` of an accepted ping.",
    ]
    for example in ins.examples:
        parts += [
            f"### {example.title}",
            f"JSON body for `POST {example.url}`:",
            _code("json", example.json_body),
            "With curl:",
            _code("sh", example.curl_json),
            "The same as a form (`application/x-www-form-urlencoded`):",
            _code("sh", example.curl_form),
            "An answer:",
            _code("json", example.answer),
        ]
    for profile in ins.profiles:
        parts += _profile(profile)
    return "\n\n".join(parts) + "\n"


def _profile(doc: ProfileDoc) -> list[str]:
    """A seller's own format: where, how, its names, and the examples in it."""
    how = f"Send {doc.format}"
    if doc.content_types and doc.method == "POST":
        how += " as " + " or ".join(f"`{t}`" for t in doc.content_types)
    parts = [
        f"## Your own format: `{doc.id}`",
        f"{how}, with {doc.method}, at these URLs (the key in a header, or under its name"
        f" in the call). Answers are {doc.answer_format}, with the same statuses, reasons"
        " and HTTP codes as above, and errors name your own fields.",
        _table(("Method", "URL", "What it does"), [(m, f"`{u}`", d) for m, u, d in doc.endpoints]),
    ]
    if doc.names:
        parts += [
            "Your names for our fields:",
            _table(("You send", "Our field"), [(f"`{t}`", f"`{o}`") for t, o in doc.names]),
        ]
    if doc.values:
        parts += [
            "Your values, read as ours:",
            _table(
                ("Field", "You send", "Read as"),
                [(f"`{f}`", f"`{t}`", f"`{o}`") for f, t, o in doc.values],
            ),
        ]
    if doc.ignored:
        parts.append("Left out: " + ", ".join(f"`{name}`" for name in doc.ignored) + ".")
    if doc.answer_names or doc.statuses:
        renamed = [(f"`{o}`", f"`{t}`") for o, t in doc.answer_names]
        renamed += [(f"status `{o}`", f"`{t}`") for o, t in doc.statuses]
        parts += ["In the answers:", _table(("Ours", "Yours"), renamed)]
    for example in doc.examples:
        parts += [
            f"### {example.title} in `{doc.id}`",
            _code("sh", example.curl),
            "An answer:",
            _code("xml" if doc.answer_format != "JSON" else "json", example.answer),
        ]
    parts += ["An error (a bad ZIP code):", _code("text", doc.error_example)]
    return parts


def _field_row(field: FieldDoc) -> tuple[str, ...]:
    rules = list(field.rules)
    if field.allowed:
        rules.insert(0, "one of " + ", ".join(f"`{value}`" for value in field.allowed))
    if field.accepts:
        rules.append(field.accepts)
    name = f"`{field.name}`" + (f" ({field.label})" if field.label != field.name else "")
    return (name, field.type, field.ping, field.post, "yes" if field.pii else "", "; ".join(rules))


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(head: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _code(language: str, text: str) -> str:
    return f"```{language}\n{text}\n```"
