"""The org-unit pickers' choice builders on the demo city (app.orgs.tree, app.forms.schema):
units grouped under the unit above them, indented by tier, the proposal first; and the units a
triage form offers as lead and co-handlers at each tier."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app.forms.schema import _unit_choices, resolve
from app.orgs.directory import directory
from app.orgs.tree import common_root, tree_order, unit_tree

TRIAGE_KINDS = "units:department,street,community"
D1_BUREAUS = ["d1-cg", "d1-hw", "d1-jt", "d1-sz", "d1-yl", "d1-zh", "d1-zj"]


@pytest.fixture()
def units(app: Flask) -> Iterator[Any]:
    with app.app_context():
        yield directory()


def shape(groups: list[Any]) -> list[tuple[str | None, str, list[tuple[str, int]]]]:
    return [(g.code, g.label, [(c.code, c.depth) for c in g.choices]) for g in groups]


def codes(units: list[Any]) -> list[str]:
    return [u.code for u in units]


def test_a_district_heads_its_bureaus_and_streets_with_communities_indented(units: Any) -> None:
    offered = codes(_unit_choices(TRIAGE_KINDS, units, "/city/d1/", "task"))
    assert shape(unit_tree(offered, units)) == [
        ("d1", "东湖区", [(c, 0) for c in D1_BUREAUS] + [
            ("d1-s1", 0), ("d1-s1-c1", 1), ("d1-s1-c2", 1), ("d1-s2", 0), ("d1-s2-c1", 1), ("d1-s2-c2", 1)])]


def test_the_city_groups_by_district_in_tree_order(units: Any) -> None:
    offered = codes(_unit_choices(TRIAGE_KINDS, units, "/city/", "task"))
    groups = unit_tree(list(reversed(offered)), units)  # the order given does not matter
    assert [(g.code, g.label) for g in groups] == [("city", "示范市"), ("d1", "东湖区"), ("d2", "西山区")]
    assert [c.code for c in groups[0].choices][:2] == ["city-cg", "city-hw"]
    assert {c.kind for c in groups[0].choices} == {"department"}
    # bureaus before the streets, each street followed by its communities
    assert [c.code for c in groups[2].choices][-6:] == ["d2-s1", "d2-s1-c1", "d2-s1-c2", "d2-s2", "d2-s2-c1", "d2-s2-c2"]


def test_communities_alone_are_grouped_by_street_with_the_district_named(units: Any) -> None:
    offered = codes(_unit_choices("units:community", units, None, None))
    groups = unit_tree(offered, units)
    assert [g.label for g in groups] == ["东湖区 › 湖滨街道", "东湖区 › 新港街道", "西山区 › 枫林街道", "西山区 › 龙华镇"]
    assert shape(groups)[0] == ("d1-s1", "东湖区 › 湖滨街道", [("d1-s1-c1", 0), ("d1-s1-c2", 0)])
    en = unit_tree(offered, units, "en")
    assert en[0].label == "Donghu District › Hubin Street" and en[0].choices[0].name == "Hubin Street Community 1"


def test_the_proposal_comes_first_and_marked(units: Any) -> None:
    offered = codes(_unit_choices(TRIAGE_KINDS, units, "/city/d1/", "task"))
    groups = unit_tree(offered, units, proposed="d1-sz")
    assert groups[0].proposal and [(c.code, c.proposed, c.context) for c in groups[0].choices] == [("d1-sz", True, "东湖区")]
    assert "d1-sz" not in [c.code for g in groups[1:] for c in g.choices]  # once, not twice
    assert not any(c.proposed for g in groups[1:] for c in g.choices)
    # a proposal that is not offered changes nothing; unknown codes are left out
    assert shape(unit_tree(offered + ["nowhere"], units, proposed="d2-sz")) == shape(unit_tree(offered, units))
    assert unit_tree([], units) == [] and unit_tree(["nowhere"], units) == []


def test_a_street_offers_itself_and_its_communities(units: Any) -> None:
    offered = codes(_unit_choices(TRIAGE_KINDS, units, "/city/d1/d1-s1/", "task"))
    assert offered == ["d1-s1", "d1-s1-c1", "d1-s1-c2"]
    assert codes(_unit_choices(TRIAGE_KINDS, units, "/city/d1/d1-s1/", "peers")) == offered
    assert shape(unit_tree(offered, units)) == [("d1", "东湖区", [("d1-s1", 0), ("d1-s1-c1", 1), ("d1-s1-c2", 1)])]


def test_a_community_co_handles_with_its_peers_not_with_itself(units: Any) -> None:
    # the lead at community level can only be the community itself...
    assert codes(_unit_choices(TRIAGE_KINDS, units, "/city/d1/d1-s1/d1-s1-c1/", "task")) == ["d1-s1-c1"]
    # ...so co-handlers are the other communities of its street (before: the community alone,
    # which the process drops from co_units as it is the lead)
    peers = _unit_choices(TRIAGE_KINDS, units, "/city/d1/d1-s1/d1-s1-c1/", "peers")
    assert codes(peers) == ["d1-s1-c2"]
    assert shape(unit_tree(codes(peers), units)) == [("d1-s1", "湖滨街道", [("d1-s1-c2", 0)])]
    # and the district keeps its whole area for co-handlers
    assert codes(_unit_choices(TRIAGE_KINDS, units, "/city/d1/", "peers")) == \
        codes(_unit_choices(TRIAGE_KINDS, units, "/city/d1/", "task"))


def test_the_triage_form_resolves_lead_and_co_handlers_per_tier(app: Flask, units: Any) -> None:
    import json
    from pathlib import Path
    form = json.loads((Path(app.root_path).parent / "forms" / "triage.json").read_text())
    community = resolve(form, scope="/city/d1/d1-s1/d1-s1-c1/")["properties"]
    assert community["lead_unit"]["enum"] == ["d1-s1-c1"]
    assert community["co_units"]["items"]["enum"] == ["d1-s1-c2"] and community["co_units"]["x-enum-titles"] == ["望湖社区"]
    district = resolve(form, scope="/city/d1/")["properties"]
    assert district["lead_unit"]["enum"][:7] == D1_BUREAUS and "d1-s1-c1" in district["co_units"]["items"]["enum"]


def test_common_root_and_tree_order(units: Any) -> None:
    by = units.by_code
    assert common_root([by["d1-s1-c1"], by["d1-s2"]]) == "/city/d1/"
    assert common_root([by["d1-s1-c1"]]) == "/city/d1/d1-s1/d1-s1-c1/" and common_root([]) == "/"
    assert codes(tree_order([by["d1-s1"], by["d1-sz"], by["d1"], by["d1-s1-c1"]], units)) == \
        ["d1", "d1-sz", "d1-s1", "d1-s1-c1"]
