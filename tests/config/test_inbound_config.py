"""A campaign's inbound profiles in the YAML (issue 17): compiled against the vertical,
every issue at its path, and the canonical form round-trips."""

from __future__ import annotations

from typing import Any

import pytest

from pingtree.config.compile import compile_config
from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.config.parse import dump_yaml, load_yaml, parse_config
from pingtree.config.schema import canonical
from pingtree.domain.inbound import AnswerFormat, InboundFormat, InboundProfile, to_ours
from tests.api.market import campaign, marketplace

PATH = "suppliers[0].campaigns[0].inbound[0]"
PROFILE: dict[str, Any] = {
    "id": "cake_xml",
    "format": "xml",
    "aliases": {"ZipCode": "zip", "ApiKey": "api_key", "Insured": "insured"},
    "values": {"insured": {"Y": True, "N": False}, "credit": {"A": "excellent"}},
    "ignore": ["Vendor"],
    "xml_root": "Lead",
    "answer": {"root": "Response", "names": {"status": "Status"}, "statuses": {"sold": "OK"}},
}


def with_profile(**overrides: Any) -> dict[str, Any]:
    return marketplace([], [campaign(inbound=[{**PROFILE, **overrides}])])


def issues(data: object) -> dict[str, ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        compile_config(parse_config(data))
    return {issue.path: issue for issue in caught.value.issues}


def test_a_profile_compiles_with_its_defaults() -> None:
    (profile,) = compile_config(parse_config(with_profile())).campaigns["acme_auto"].inbound
    assert profile.format is InboundFormat.XML
    # an xml profile answers in XML unless it says otherwise
    assert profile.answer_format is AnswerFormat.XML
    assert profile.values["insured"] == {"y": True, "n": False}
    assert profile.their_name("zip") == "ZipCode"
    assert profile.their_value("insured", False) == "N"
    assert profile.answer_name("status") == "Status"
    assert profile.status_word("sold") == "OK"
    assert profile.status_word("rejected") == "rejected"


def test_the_canonical_form_round_trips() -> None:
    doc = parse_config(with_profile())
    again = load_yaml(dump_yaml(doc))
    assert canonical(again) == canonical(doc)
    assert canonical(doc)["suppliers"][0]["campaigns"][0]["inbound"] == [PROFILE]


def test_every_issue_is_named_by_its_path() -> None:
    found = issues(
        marketplace(
            [],
            [
                campaign(
                    inbound=[
                        {
                            **PROFILE,
                            "aliases": {"Zip Code": "zip", "Age": "age_years"},
                            "values": {"colour": {"R": "red"}, "credit": {"a": "good", "A": "x"}},
                            "answer": {"root": "1st", "names": {"winner": "W"}},
                        },
                        {"id": "cake_xml", "format": "form"},
                    ]
                )
            ],
        )
    )
    assert set(found) >= {
        f"{PATH}.aliases.Zip Code",
        f"{PATH}.aliases.Age",
        f"{PATH}.values.colour",
        f"{PATH}.values.credit.A",
        f"{PATH}.answer.root",
        f"{PATH}.answer.names.winner",
        "suppliers[0].campaigns[0].inbound[1].id",
    }, found
    assert "not an XML element name" in found[f"{PATH}.aliases.Zip Code"].msg


def test_a_json_profile_renames_fields_only() -> None:
    found = issues(with_profile(format="json", aliases={"Key": "api_key", "ZipCode": "zip"}))
    assert set(found) == {f"{PATH}.aliases.Key"}


@pytest.mark.parametrize("bad", [{"format": "yaml"}, {"aliases": {"": "zip"}}, {"id": "Bad Id"}])
def test_shape_errors(bad: dict[str, Any]) -> None:
    assert issues(with_profile(**bad))


def test_to_ours_maps_names_and_values_and_refuses_a_field_sent_twice() -> None:
    profile = InboundProfile(
        id="p",
        format=InboundFormat.FORM,
        aliases={"ZipCode": "zip", "postal": "zip", "Own": "insured"},
        values={"insured": {"y": True, "n": False}},
        ignore=frozenset({"Mode"}),
    )
    mapped = to_ours(profile, [("ZipCode", "33101"), ("Mode", "ping"), ("Own", " Y "), ("x", 1)])
    assert mapped.data == {"zip": "33101", "insured": True, "x": 1}
    assert mapped.sent_as == {"zip": "ZipCode", "insured": "Own", "x": "x"}
    assert not mapped.errors
    twice = to_ours(profile, [("ZipCode", "33101"), ("postal", "33102")])
    assert twice.errors == [("postal", "ZipCode was sent already", "duplicate_field")]
