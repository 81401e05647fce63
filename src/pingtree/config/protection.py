"""Compiling a campaign's seller protection: its rate limits (``CampaignSpec.rate_limits``)
and its duplicate-ping cache (``CampaignSpec.ping_dedup``).

Each limit stands on its own (the schema keeps each at least 1). Checked here: dedup
fields that are not the vertical's, that are PII (a ping never carries them; its hash
does), or that are named twice. Each issue is ``(path, message, value)`` under the campaign's path.
"""

from __future__ import annotations

from pingtree.config.supplier_spec import PingDedupSpec, RateLimitSpec, RateLimitsSpec
from pingtree.domain.campaigns import PingDedup
from pingtree.domain.rate_limits import RateLimits
from pingtree.domain.verticals import Vertical

__all__ = ["compile_ping_dedup", "compile_rate_limits"]

Issue = tuple[str, str, object]


def compile_rate_limits(
    spec: RateLimitsSpec,
) -> tuple[RateLimits, RateLimits, tuple[tuple[str, RateLimits], ...]]:
    """The campaign's limits on all its keys together, on each of its keys, and the keys'
    own limits by key id (a key not yet issued is allowed: it may be issued later)."""
    own = tuple(sorted((key_id, _limits(limits)) for key_id, limits in spec.keys.items()))
    return _limits(spec), _limits(spec.per_key), own


def _limits(spec: RateLimitSpec) -> RateLimits:
    return RateLimits(spec.per_second, spec.per_minute, spec.concurrent)


def compile_ping_dedup(
    spec: PingDedupSpec | None, vertical: Vertical | None, path: str
) -> tuple[PingDedup | None, list[Issue]]:
    """The duplicate-ping cache, and every issue found (``None``: off)."""
    if spec is None:
        return None, []
    issues: list[Issue] = []
    for k, name in enumerate(spec.fields):
        fpath = f"{path}.ping_dedup.fields[{k}]"
        if spec.fields.index(name) != k:
            issues.append((fpath, "duplicate field", name))
        elif vertical is not None:
            field = vertical.field(name)
            if field is None:
                issues.append((fpath, f"unknown field of vertical {vertical.id!r}", name))
            elif field.pii:
                issues.append(
                    (fpath, "is a PII field, which never travels in a ping: send its hash", name)
                )
    dedup = PingDedup(spec.window_seconds, spec.on_repeat, tuple(spec.fields))
    return dedup, issues
