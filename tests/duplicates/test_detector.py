"""The detector's pure part: fingerprints, keys and scores."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.duplicates.detector import (Rules, best_matches, bigrams, distance_m, fingerprint, key, lookup_keys, normalize,
                                     score, stored_keys)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
RULES = Rules()


def fp(title: str, description: str, **kw: object) -> object:
    return fingerprint(title, description, kw.pop("at", T0), **kw)  # type: ignore[arg-type]


def test_normalize_folds_width_case_and_punctuation() -> None:
    assert normalize("Ａ市 ，井盖！ABC  1２3") == "a市井盖abc123"
    assert normalize(None) == "" and bigrams("井盖丢") == {"井盖", "盖丢"}


def test_keywords_keep_the_rare_words_and_drop_the_petition_vocabulary() -> None:
    f = fp("反映锦绣江南小区施工噪音问题", "希望相关部门处理锦绣江南小区旁工地夜间施工噪音扰民")
    assert "锦绣" in f.tags or "锦绣江南" in f.tags
    assert not {"反映", "问题", "希望", "相关", "部门", "处理", "小区"} & set(f.tags)


def test_the_same_report_reworded_scores_high_and_names_its_reasons() -> None:
    a = fp("锦绣江南工地夜间施工噪音扰民", "锦绣江南三期工地每天夜里十一点后还在打桩，噪音很大，居民无法休息",
           lat=30.6001, lng=114.3001, category_code="event:05003", address="东湖区锦绣江南三期")
    b = fp("锦绣江南三期工地晚上打桩", "晚上十二点锦绣江南三期工地仍在打桩施工，噪音太吵，孩子没法睡觉",
           at=T0 + timedelta(days=1), lat=30.6004, lng=114.3003, category_code="event:05003",
           address="东湖区锦绣江南三期", reporter="13900000001")
    m = score(b, a, RULES)
    assert m.score >= RULES.min_score
    assert {"similar_text", "nearby", "same_address", "same_category", "recent"} <= set(m.reasons)
    assert m.details["distance_m"] < 60 and m.details["days_apart"] == 1.0


def test_the_same_kind_of_problem_far_away_is_not_a_duplicate() -> None:
    a = fp("锦绣江南工地夜间施工噪音扰民", "锦绣江南三期工地每天夜里打桩，噪音很大", lat=30.60, lng=114.30,
           category_code="event:05003")
    b = fp("金色港湾工地夜间施工噪音扰民", "金色港湾二期工地夜里打桩，噪音很大", lat=30.65, lng=114.41,
           category_code="event:05003")
    m = score(b, a, RULES)
    assert m.score < RULES.min_score and "nearby" not in m.reasons and m.details["distance_m"] > 10_000
    unlocated = score(fp(b.text, ""), fp(a.text, ""), RULES)  # type: ignore[attr-defined]
    assert unlocated.score > m.score  # without places only the names tell them apart


def test_different_categories_weigh_against_a_match() -> None:
    base = dict(lat=30.6, lng=114.3, address="滨江路12号")
    a = fp("滨江路12号井盖破损", "滨江路12号门口井盖破损", category_code="component:01002", **base)
    b = fp("滨江路12号井盖破损", "滨江路12号门口井盖破损", category_code="component:01002", **base)
    c = fp("滨江路12号井盖破损", "滨江路12号门口井盖破损", category_code="event:06001", **base)
    assert score(b, a, RULES).score > score(c, a, RULES).score


def test_an_exact_repeat_from_the_same_reporter_says_so() -> None:
    a = fp("路灯不亮", "幸福路与和平路交叉口路灯连续三晚不亮", reporter="138 0013 8000")
    b = fp("路灯不亮", "幸福路与和平路交叉口路灯连续三晚不亮。", reporter="13800138000", at=T0 + timedelta(hours=2))
    m = score(b, a, RULES)
    assert {"same_text", "same_reporter"} <= set(m.reasons) and m.score >= 0.75


def test_keys_find_the_neighbouring_map_cells_and_are_stable() -> None:
    a = fp("井盖丢失", "和平路井盖丢失", lat=30.6, lng=114.3)
    b = fp("井盖缺失", "和平路一个井盖不见了", lat=30.6025, lng=114.3025)  # the next cell
    assert stored_keys(b) & lookup_keys(a)
    assert key("word", "井盖") == key("word", "井盖") and 0 <= key("x") < 2**63


def test_best_matches_keeps_those_above_the_threshold_best_first() -> None:
    new = fp("锦绣江南工地夜间打桩噪音", "锦绣江南三期工地夜间打桩，噪音扰民")
    near = fp("锦绣江南三期工地夜里打桩", "锦绣江南三期工地夜里打桩施工噪音大")
    far = fp("学校门口摊贩占道", "实验小学门口早上摊贩占道经营")
    result = best_matches(new, [(1, far), (2, near)], RULES)
    assert [cid for cid, _ in result] == [2]


def test_distance_is_metres_on_the_sphere() -> None:
    assert 110 < distance_m(30.0, 114.0, 30.001, 114.0) < 112


def test_dropping_hopeless_pairs_early_changes_no_result() -> None:
    """best_matches skips pairs whose best possible score is below the threshold: on many random
    pairs it keeps exactly what scoring every pair would keep, with the same scores."""
    import random
    rng = random.Random(5)
    places = ["锦绣江南", "金色港湾", "滨江花园", "实验小学", "人民医院", "东湖路", "解放大道"]
    problems = ["夜间施工噪音扰民", "井盖破损", "路灯不亮", "垃圾堆放未清运", "占道经营", "污水外溢", "违章停车堵路"]
    details = ["居民无法休息", "有安全隐患", "已经好几天了", "多次反映未解决", "晚上出行不便", "气味很大"]
    categories = [None, "event:05003", "component:01002", "event:02001"]

    def report(at_days: float) -> object:
        place, problem = rng.choice(places), rng.choice(problems)
        located = rng.random() < 0.7
        return fp(f"{place}{problem}", f"{place}{rng.choice(['附近', '门口', '三期', ''])}{problem}，{rng.choice(details)}",
                  at=T0 + timedelta(days=at_days), category_code=rng.choice(categories),
                  lat=30.6 + rng.random() * 0.01 if located else None, lng=114.3 + rng.random() * 0.01 if located else None,
                  address=f"东湖区{place}" if rng.random() < 0.3 else None, reporter=rng.choice(["a", "b", None]))

    kept_some = 0
    for i in range(60):
        new = report(100)
        olds = [(j, report(rng.random() * 100)) for j in range(40)]
        full = [(cid, score(new, old, RULES)) for cid, old in olds]  # type: ignore[arg-type]
        want = sorted(((cid, m) for cid, m in full if m.score >= RULES.min_score), key=lambda x: (-x[1].score, -x[0]))[:5]
        got = best_matches(new, olds, RULES)  # type: ignore[arg-type]
        assert got == want, i
        kept_some += bool(got)
    assert kept_some > 20  # the pairs are not all hopeless: the comparison means something
