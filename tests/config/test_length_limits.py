"""Names, labels and references have a length limit (issue 13's walk: a name of any length
broke the pages); ``pingtree apply``, the API and the forms name the path of a long one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pingtree.config.errors import ConfigError
from pingtree.config.parse import parse_config
from pingtree.config.spec_types import MAX_NAME, MAX_REF
from tests.config.test_config_compile import BASE


def issues(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(doc)
    return {issue.path: issue.msg for issue in caught.value.issues}


def test_names_are_at_most_100_characters() -> None:
    doc = copy.deepcopy(BASE)
    doc["verticals"][0]["name"] = "v" * MAX_NAME
    doc["suppliers"][0]["name"] = "s" * MAX_NAME
    parse_config(doc)  # exactly the limit is fine

    doc["verticals"][0]["name"] = "v" * (MAX_NAME + 1)
    doc["suppliers"][0]["name"] = "s" * (MAX_NAME + 1)
    doc["suppliers"][0]["campaigns"][0]["name"] = "c" * 5000
    doc["buyers"][0]["name"] = "b" * 101
    doc["buyers"][0]["orders"][0]["name"] = "o" * 101
    doc["verticals"][0]["fields"][0]["label"] = "l" * 101
    doc["verticals"][0]["fields"][3]["values"][1] = "g" * 101
    found = issues(doc)
    message = "string should have at most 100 characters"
    assert found == {
        "verticals[0].name": message,
        "verticals[0].fields[0].label": message,
        "verticals[0].fields[3].values[1]": message,
        "suppliers[0].name": message,
        "suppliers[0].campaigns[0].name": message,
        "buyers[0].name": message,
        "buyers[0].orders[0].name": message,
    }


def test_ids_and_references_are_at_most_64_characters() -> None:
    doc = copy.deepcopy(BASE)
    doc["suppliers"][0]["id"] = "a" * (MAX_REF + 1)
    doc["suppliers"][0]["campaigns"][0]["vertical"] = "x" * (MAX_REF + 1)
    doc["buyers"][0]["timezone"] = "T" * (MAX_REF + 1)
    found = issues(doc)
    assert set(found) == {
        "suppliers[0].id",
        "suppliers[0].campaigns[0].vertical",
        "buyers[0].timezone",
    }
    assert found["buyers[0].timezone"] == "string should have at most 64 characters"
