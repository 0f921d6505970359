"""The grouping and the heat index on hand-built reports (docs/hotspots.md)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from app.duplicates.detector import fingerprint
from app.hotspots.grouping import Report, Rules, group, heat_of
from app.hotspots.places import people_of, place_of

NOW = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
NO_DECAY = Rules(half_life_days=None)


def located(rid: int, lat: float, lng: float, category: str = "component:01002", days_ago: float = 1, **kw) -> Report:
    return Report(id=rid, at=NOW - timedelta(days=days_ago), lat=lat, lng=lng, category=category,
                  title=kw.pop("title", f"井盖破损 {rid}"), **kw)


def test_same_place_and_problem_is_one_hot_spot_other_places_are_others() -> None:
    near = [located(1, 31.2301, 121.5001), located(2, 31.2303, 121.5004), located(3, 31.2302, 121.4999)]
    far = [located(4, 31.2601, 121.5501), located(5, 31.2602, 121.5502)]
    spots = group(near + far, NOW, NO_DECAY)
    assert sorted(sorted(s.case_ids) for s in spots) == [[1, 2, 3], [4, 5]]
    assert spots[0].case_ids == [1, 2, 3]  # the bigger one first, its cases oldest first


def test_a_spots_cases_filed_at_one_moment_are_in_id_order_not_text_order() -> None:
    """The panel links the newest case; three filed in one second (ids 99, 100, 101) must end on 101, not on 99."""
    spots = group([located(101, 31.23, 121.5), located(99, 31.23, 121.5), located(100, 31.23, 121.5)], NOW, NO_DECAY)
    assert spots[0].case_ids == [99, 100, 101]
    named = group([located(1, 31.23, 121.5)] + [Report(id=t, at=NOW - timedelta(days=1), lat=31.23, lng=121.5,
                                                       category="component:01002", title="井盖破损") for t in ("b", "a")],
                  NOW, NO_DECAY)
    assert named[0].case_ids == [1, "a", "b"]


def test_a_grid_line_does_not_cut_a_cluster() -> None:
    line = 0.003 * math.floor(31.2301 / 0.003)  # a cell boundary of the first grid; 20 m either side
    spots = group([located(1, line - 0.0002, 121.5), located(2, line + 0.0002, 121.5)], NOW, NO_DECAY)
    assert [sorted(s.case_ids) for s in spots] == [[1, 2]]


def test_another_category_at_the_same_place_is_another_problem() -> None:
    reports = [located(1, 31.23, 121.5), located(2, 31.23, 121.5), located(3, 31.23, 121.5, "event:06001"),
               located(4, 31.23, 121.5, "event:06001")]
    assert sorted(sorted(s.case_ids) for s in group(reports, NOW, NO_DECAY)) == [[1, 2], [3, 4]]


def test_a_single_report_is_no_hot_spot_but_one_with_merged_repeats_is() -> None:
    assert group([located(1, 31.23, 121.5)], NOW, NO_DECAY) == []
    spots = group([located(1, 31.23, 121.5, repeats=2)], NOW, NO_DECAY)
    assert spots[0].count == 3 and spots[0].repeats == 2


def test_merged_repeats_raise_the_heat_by_their_number() -> None:
    plain = group([located(1, 31.23, 121.5), located(2, 31.23, 121.5)], NOW, NO_DECAY)[0]
    repeated = group([located(1, 31.23, 121.5, repeats=3), located(2, 31.23, 121.5)], NOW, NO_DECAY)[0]
    assert plain.heat == pytest.approx(2.0)
    assert repeated.heat == pytest.approx(5.0)  # (1 + 3) + 1


def test_unsolved_and_reworked_cases_heat_a_spot_as_documented() -> None:
    def spot(**flags: bool) -> float:
        return group([located(1, 31.23, 121.5, **flags), located(2, 31.23, 121.5)], NOW, NO_DECAY)[0].heat
    assert spot() == pytest.approx(2.0)  # all solved, no rework: the volume
    assert spot(open=True) == pytest.approx(2.0 * 1.5)  # half unsolved
    assert spot(reworked=True) == pytest.approx(2.0 * 1.5)  # half reworked
    assert spot(open=True, reworked=True) == pytest.approx(2.0 * 1.5 * 1.5)


def test_older_reports_weigh_less_and_likes_more() -> None:
    rules = Rules(half_life_days=30)
    fresh = group([located(1, 31.23, 121.5, days_ago=0), located(2, 31.23, 121.5, days_ago=0)], NOW, rules)[0]
    old = group([located(1, 31.23, 121.5, days_ago=30), located(2, 31.23, 121.5, days_ago=30)], NOW, rules)[0]
    assert fresh.heat == pytest.approx(2.0) and old.heat == pytest.approx(1.0)
    liked = group([located(1, 31.23, 121.5, likes=7), located(2, 31.23, 121.5)], NOW, NO_DECAY)[0]
    assert heat_of(liked, NOW, NO_DECAY)[0] == pytest.approx(2.0 + 3.0)  # log2(1 + 7)


def text_report(rid: int, title: str, detail: str, address: str | None = None, days_ago: float = 1) -> Report:
    at = NOW - timedelta(days=days_ago)
    place = place_of(address, title, detail)
    return Report(id=rid, at=at, title=title, fingerprint=fingerprint(title, detail, at),
                  place=place.name if place else None, people=people_of([title + detail]))


def test_unclassified_reports_join_by_place_and_similar_text() -> None:
    reports = [
        text_report(1, "锦绣江南小区旁工地夜间施工噪音扰民", "锦绣江南小区旁的工地每天晚上施工到凌晨，噪音很大，业主无法休息"),
        text_report(2, "投诉锦绣江南小区工地夜间施工", "工地夜间施工噪音扰民，锦绣江南小区的业主晚上睡不着"),
        text_report(3, "锦绣江南小区停车位收费过高", "锦绣江南小区物业停车位收费太高，业主要求公示收费标准"),
        text_report(4, "金色港湾小区工地夜间施工噪音扰民", "金色港湾小区旁工地每天晚上施工，噪音很大"),
    ]
    spots = group(reports, NOW, NO_DECAY)
    assert [sorted(s.case_ids) for s in spots] == [[1, 2]]
    spot = spots[0]
    assert spot.place == "锦绣江南小区"
    assert spot.people == ["业主"]
    assert "施工" in "".join(spot.terms) or "工地" in "".join(spot.terms)
    assert spot.description in (reports[0].title, reports[1].title)


def test_links_join_reports_the_detector_paired_but_never_two_named_places() -> None:
    a = located(1, 31.23, 121.5)
    b = located(2, 31.30, 121.6)  # 10 km away
    c = Report(id=3, at=NOW, title="井盖", category="component:01002")  # nothing says where: word/report key
    assert group([a, b], NOW, NO_DECAY, links=[(1, 2)]) == []  # two places: the link is not followed
    assert [sorted(s.case_ids) for s in group([a, c], NOW, NO_DECAY, links=[(1, 3)])] == [[1, 3]]


def test_place_names_in_addresses() -> None:
    assert place_of("东湖区滨江街道滨江社区锦绣江南小区3栋").name == "锦绣江南小区"
    assert place_of("A7县春华镇金鼎村七里组").name == "金鼎村"
    assert place_of("示范市东湖区湖滨街道滨江路 12 号").name == "滨江路"
    assert place_of(None, "咨询异地办理出国签证的问题") is None
    assert people_of(["孩子上学太远，家长接送不便", "家长反映学位不足"]) == ["家长"]


def test_leaving_out_the_reports_alone_in_their_cells_changes_nothing() -> None:
    import random
    from app.hotspots.grouping import lone_in_cells
    rnd = random.Random(5)
    reports = [located(i, 31.2 + rnd.random() * 0.05, 121.4 + rnd.random() * 0.05, f"event:0600{rnd.randint(1, 3)}",
                       days_ago=rnd.random() * 30) for i in range(600)]
    lone = lone_in_cells((r.lat, r.lng, r.category) for r in reports)
    assert 0 < sum(lone) < len(reports)
    kept = [r for r, alone in zip(reports, lone) if not alone]
    everything = [(s.case_ids, round(s.heat, 9)) for s in group(reports, NOW, Rules())]
    assert [(s.case_ids, round(s.heat, 9)) for s in group(kept, NOW, Rules())] == everything
