"""Compiling a campaign's ``consent`` (``config.supplier_spec.ConsentSpec``) into its first quality
step (``domain.consent``): each version of its text normalized, checked once."""

from __future__ import annotations

import datetime as dt

from pingtree.config.supplier_spec import ConsentSpec
from pingtree.domain.consent import ConsentPolicy, ConsentText, normalize_text
from pingtree.domain.quality_steps import QualityStep, StepKind

__all__ = ["compile_consent"]

Issue = tuple[str, str, object]


def compile_consent(
    spec: ConsentSpec | None, path: str
) -> tuple[tuple[QualityStep, ...], list[Issue]]:
    """The campaign's consent step (none when it requires no consent), and the problems
    found: a version or a text given twice, a retirement time without its offset, no
    current version (every one retired)."""
    if spec is None:
        return (), []
    issues: list[Issue] = []
    texts: list[ConsentText] = []
    versions: set[str] = set()
    seen: set[str] = set()
    for k, text_spec in enumerate(spec.texts):
        tpath = f"{path}.texts[{k}]"
        text = normalize_text(text_spec.text)
        retired = text_spec.retired_at
        if text_spec.version in versions:
            issues.append((f"{tpath}.version", "another text has this version", text_spec.version))
        elif text in seen:
            issues.append((f"{tpath}.text", "the same words as another version", None))
        elif retired is not None and retired.tzinfo is None:
            issues.append((f"{tpath}.retired_at", "a time with its offset (…Z)", str(retired)))
        else:
            at = None if retired is None else retired.astimezone(dt.UTC)
            texts.append(ConsentText(text_spec.version, text, at))
        versions.add(text_spec.version)
        seen.add(text)
    if texts and all(text.retired_at is not None for text in texts):
        issues.append((f"{path}.texts", "every version is retired: add the current one", None))
    policy = ConsentPolicy(
        texts=tuple(texts),
        max_age=dt.timedelta(minutes=spec.max_age_minutes),
        require=frozenset(spec.require),
    )
    step = QualityStep(StepKind.CONSENT, "consent_at", spec.on_fail, consent=policy)
    return (step,), issues
