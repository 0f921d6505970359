"""The first hit of typical queries (tests/catalog/search_cases.py) is the one a dispatcher expects,
and a picker may preselect it only when it alone is exact."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app.catalog import service
from app.catalog.service import category_matches, search_categories
from tests.catalog.search_cases import CASES


@pytest.fixture(autouse=True)
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def test_there_are_enough_cases_and_every_expected_name_exists() -> None:
    assert len(CASES) >= 30
    names = {c.name for c in search_categories("", limit=1000)}
    assert {expected for _q, _k, expected, _why in CASES} <= names


@pytest.mark.parametrize(("q", "kind", "expected", "why"), CASES, ids=[f"{c[0]}-{c[1] or 'all'}" for c in CASES])
def test_first_hit(q: str, kind: str | None, expected: str, why: str) -> None:
    found = [c.name for c in search_categories(q, kind, 10)]
    assert found and found[0] == expected, f"{q!r} ({why}): {found}"


def test_jg_puts_every_manhole_cover_above_the_landscape_light() -> None:
    found = [c.name for c in search_categories("jg", limit=100)]
    assert "景观灯" in found
    assert all(found.index(n) < found.index("景观灯") for n in found if n.endswith("井盖"))


def test_only_a_lone_exact_match_counts_as_exact() -> None:
    assert [e for _c, e in category_matches("wsjg")][:2] == [True, False]
    assert not any(e for _c, e in category_matches("jg"))  # ambiguous: no hit is exact
    assert [e for _c, e in category_matches("ld")][:2] == [True, True]  # 路灯 and 绿地: both exact
    assert not any(e for _c, e in category_matches(""))


def test_the_common_list_and_the_synonyms_name_real_categories() -> None:
    names = {c.name for c in search_categories("", limit=1000)}
    for line in service.common_order():
        assert line in names or (line.startswith("*") and any(n.endswith(line[1:]) for n in names)), line
    for word, targets in service.synonyms().items():
        assert set(targets) <= names, word
