"""Category search for operators: Chinese, pinyin initials (polyphones either way), full pinyin,
codes; best matches first; fast enough to run on every keystroke. Runs on the session's database,
where `flask catalog load` loaded the shipped GB/T 47678.5 directory."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from app.catalog import service
from app.catalog.service import search_categories


@pytest.fixture(autouse=True)
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def keys(q: str, kind: str | None = None, limit: int = 20) -> list[str]:
    return [c.key for c in search_categories(q, kind, limit)]


def names(q: str, kind: str | None = None, limit: int = 20) -> list[str]:
    return [c.name for c in search_categories(q, kind, limit)]


def test_chinese_substring_of_the_name_and_the_major_class() -> None:
    found = names("井盖", limit=200)
    assert found and all("井盖" in n for n in found)
    assert {"供水井盖", "污水井盖", "污水井盖异常"} <= set(found)
    assert names("污水井盖")[0] == "污水井盖"  # exact first, then the longer names that start with it
    assert names("污水井盖")[1] == "污水井盖异常"
    by_class = search_categories("市容环境类", limit=100)
    assert by_class and all(c.major_class == "市容环境类" for c in by_class)


def test_pinyin_initials_and_full_pinyin() -> None:
    assert "component:01002" in keys("jg", limit=200)  # 污水井盖: initials inside the name
    assert names("wsjg")[0] == "污水井盖"
    assert names("ljx")[0] == "垃圾箱"
    assert names("LJX")[0] == "垃圾箱"  # case does not matter
    assert names("jinggai")[:3] == ["污水井盖", "雨水井盖", "供水井盖"]  # full pinyin of the head word; common first
    assert names("wushuijing")[0] == "污水井盖"
    assert names("wu'shui")[0] == "污水井盖"  # syllable separators are ignored
    assert names("lajixiang")[0] == "垃圾箱"


def test_polyphonic_characters_are_found_with_either_reading() -> None:
    for q in ("xds", "hds", "xingdaoshu", "hangdaoshu"):  # 行道树: 行 xing / hang
        assert "component:04002" in keys(q), q
    for q in ("rxhd", "rhhd"):  # 人行横道桩
        assert "component:02020" in keys(q), q
    # the common reading ranks above a secondary one
    xing = search_categories("xds")
    assert xing[0].name == "行道树"


def test_codes_keys_and_the_kind_filter() -> None:
    found = keys("0600", limit=50)
    assert found and all(k.startswith("event:0600") for k in found)
    assert len(found) == 9  # event:06001 … 06009
    both = keys("01001")
    assert both[:2] in (["component:01001", "event:01001"], ["event:01001", "component:01001"])
    assert keys("01001", kind="component") == ["component:01001"]
    assert all(k.startswith("event:0601") for k in keys("event:0601"))
    assert keys("event:06010")[0] == "event:06010"
    assert all(c.kind == "event" for c in search_categories("jg", "event", 100))


def test_ranking_exact_then_head_then_prefix_then_inside_then_shorter() -> None:
    # the event about the thing (路灯异常: its head is 路灯) before names it only modifies (路灯井盖)
    assert names("路灯") == ["路灯", "路灯异常", "路灯井盖", "路灯井盖异常", "路灯配电箱", "路灯配电箱异常"]
    assert names("信号灯") == ["交通信号灯", "交通信号灯异常", "信号灯电源井盖", "信号灯电源井盖异常"]
    assert names("ld")[:2] == ["路灯", "绿地"]  # exact initials first; ties: shorter, then by code
    # the major class ranks after the name: 景观灯 is inside 市政公用设施, but "jg" is in its name
    assert names("szgy")[0] != "景观灯" and all(c.major_class.startswith("市政公用设施") for c in search_categories("szgy"))


def test_several_words_must_all_match() -> None:
    found = names("垃圾 xiang")
    assert found and all("垃圾" in n and "箱" in n for n in found)
    assert names("井盖 zzzz") == []


def test_no_query_gives_the_directory_in_order_and_limits_hold() -> None:
    everything = search_categories("", limit=1000)
    assert len(everything) == 403
    assert [c.key for c in everything[:2]] == ["component:01001", "component:01002"]
    assert len(search_categories("", "event", 1000)) == 250
    assert len(search_categories("j", limit=5)) == 5
    assert search_categories("zzzzqqq") == [] and search_categories("没有这种东西") == []


def test_unknown_and_odd_input_is_harmless() -> None:
    for q in ("   ", "'", "%", "_", "event:", "()", "a" * 50, "井盖" * 25, "\x00"):
        search_categories(q)
        service.search_topics(q)


def test_a_query_takes_well_under_a_millisecond() -> None:
    index = service.catalogue()
    queries = ["j", "jg", "jgg", "jinggai", "井", "井盖", "垃圾", "0", "06", "0600", "event:06", "z", "sh", "xds",
               "ljx", "szgy", "zhong", "垃圾 x", "a", "lu"]
    best = float("inf")
    for _round in range(5):
        index.category_search._cache.clear()
        index.topic_search._cache.clear()
        start = time.perf_counter()
        for q in queries:
            index.category_search.search(q, None, 20)
            index.topic_search.search(q, None, 20)
        best = min(best, (time.perf_counter() - start) / (2 * len(queries)))
    assert best < 0.001, f"{best * 1000:.3f} ms per query"
