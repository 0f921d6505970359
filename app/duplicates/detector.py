"""The duplicate detector's pure part: a report's fingerprint, its lookup keys, and a pair's score.

No database here, so the same code serves intake (:mod:`app.duplicates.store`) and the
evaluation command (:mod:`app.duplicates.evaluate`).

A fingerprint keeps what tells two reports of one problem apart from two reports of one *kind* of
problem: the rare words of the text (jieba's TF-IDF keywords: an estate's, a road's or a
company's name weighs more than 噪音 or 小区), the place (coordinates and the written address),
the category and the reporter. Keys are hashes of a few of those — pairs of rare words, the map
cell, the address, the reporter, the exact text — so candidates are found by an index lookup
and only they are scored.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from itertools import combinations
from typing import Any

#: words that say nothing about which problem it is: greetings, the petition's own vocabulary
STOP_WORDS = frozenset("""
反映 问题 希望 请求 要求 政府 领导 市民 群众 部门 相关 处理 解决 投诉 举报 咨询 请问 您好 你好 谢谢 感谢 尊敬 严重
情况 现在 没有 我们 他们 你们 已经 一直 多次 至今 目前 还是 为什么 怎么 如何 是否 可以 能否 这个 那个 这样 一下
市长 书记 局长 有关 单位 工作 管理 规定 国家 政策 老百姓 百姓 居民 业主 本人 家里 时间 今年 去年 每天 每次 很多
A市 市 区 县 镇 街道 社区 村 小区 地方 附近 周边 影响 生活 正常 安全 隐患 存在 导致 造成 出现 发生 进行 予以 给予
""".split())

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_HAS_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z]")
EARTH_M = 6_371_000.0
CELL_DEG = 0.004  # map cells of about 440 m north-south; a lookup reads the 4 around the point
TAGS_KEPT = 8
PAIR_TAGS = 5  # pairs of the 5 rarest words are keys: two reports of one problem share some pair
SINGLE_TAGS = 2  # the 2 rarest words are keys on their own, for short reports
KEYWORD_TEXT = 600  # keywords come from the title and the description's start: long letters cost, add little

_jieba_lock = threading.Lock()
_jieba_ready = False


def _keywords(text: str, top: int) -> list[tuple[str, float]]:
    global _jieba_ready
    import jieba
    import jieba.analyse
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba.analyse.extract_tags(text, topK=top, withWeight=True)  # type: ignore[no-any-return]


def warm_up() -> None:
    """Load jieba's dictionary now (about a second) instead of at the first report."""
    _keywords("预热", 1)


def normalize(text: str | None) -> str:
    """Full-width to half-width, lower case, no spaces or punctuation."""
    if not text:
        return ""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


def bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) if len(text) > 1 else frozenset({text})


def keywords(title: str, description: str) -> dict[str, float]:
    """The report's rare words with their weights (title words count twice: titles name the problem)."""
    text = f"{title}。{title}。{description[:KEYWORD_TEXT]}"
    out: dict[str, float] = {}
    for word, weight in _keywords(text, TAGS_KEPT + 8):
        word = unicodedata.normalize("NFKC", word).lower()
        if len(word) < 2 or word in STOP_WORDS or not _HAS_WORD.search(word):
            continue
        out[word] = round(float(weight), 4)
        if len(out) == TAGS_KEPT:
            break
    return out


def digest(*parts: Any) -> str:
    return hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=16).hexdigest()


def key(*parts: Any) -> int:
    """A signed 63-bit hash: a BIGINT on both databases."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest(), "big") >> 1


@dataclass(frozen=True)
class Fingerprint:
    text: str
    tags: Mapping[str, float]
    created_at: datetime
    lat: float | None = None
    lng: float | None = None
    category_code: str | None = None
    address: str | None = None
    reporter: str | None = None
    exact: str = ""
    _grams: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def grams(self) -> frozenset[str]:
        if not self._grams:
            object.__setattr__(self, "_grams", bigrams(self.text))
        return self._grams

    # computed once per fingerprint: a new report is compared with up to 40 candidates
    @cached_property
    def tag_weight(self) -> float:
        return sum(self.tags.values())

    @cached_property
    def top_word(self) -> str | None:
        """The most specific word (highest weight; ties by the word, for a stable choice)."""
        return max(self.tags, key=lambda w: (self.tags[w], w)) if self.tags else None


def fingerprint(title: str, description: str, created_at: datetime, *, lat: float | None = None,
                lng: float | None = None, category_code: str | None = None, address: str | None = None,
                reporter: str | None = None, max_text: int = 600) -> Fingerprint:
    """What the detector keeps of one report. ``reporter`` is any stable identity (phone, user id)."""
    text = normalize(f"{title}{description}")[:max_text]
    address_norm = normalize(address)[:300] or None
    return Fingerprint(
        text=text, tags=keywords(title, description), created_at=created_at, lat=lat, lng=lng,
        category_code=category_code, address=address_norm if address_norm and len(address_norm) >= 4 else None,
        reporter=digest("reporter", normalize(reporter)) if reporter and normalize(reporter) else None,
        exact=digest("text", text))


def _cell(lat: float, lng: float) -> tuple[int, int]:
    return math.floor(lat / CELL_DEG), math.floor(lng / CELL_DEG)


def _near_cells(lat: float, lng: float) -> list[tuple[int, int]]:
    """The cell of a point and the three cells next to the corner it is nearest: together they
    hold every point within half a cell (220 m) of it."""
    fy, fx = lat / CELL_DEG, lng / CELL_DEG
    y, x = math.floor(fy), math.floor(fx)
    dy = 1 if fy - y >= 0.5 else -1
    dx = 1 if fx - x >= 0.5 else -1
    return [(y, x), (y + dy, x), (y, x + dx), (y + dy, x + dx)]


def stored_keys(fp: Fingerprint) -> set[int]:
    """The keys a case is filed under: its place is filed twice, with and without its category."""
    out = _text_keys(fp)
    if fp.lat is not None and fp.lng is not None:
        cell = _cell(fp.lat, fp.lng)
        out.add(key("cell", *cell))
        if fp.category_code:
            out.add(key("cell", *cell, fp.category_code))
    return out


def lookup_keys(fp: Fingerprint) -> set[int]:
    """The keys to look a new report up by: its own, and the 4 map cells around it — of its
    category when it has one (a busy street holds many problems; the same one is of one category)."""
    out = _text_keys(fp)
    if fp.lat is not None and fp.lng is not None:
        extra = (fp.category_code,) if fp.category_code else ()
        out.update(key("cell", y, x, *extra) for y, x in _near_cells(fp.lat, fp.lng))
    return out


def _text_keys(fp: Fingerprint) -> set[int]:
    ranked = sorted(fp.tags, key=lambda w: (-fp.tags[w], w))
    out = {key("pair", *sorted(pair)) for pair in combinations(ranked[:PAIR_TAGS], 2)}
    out.update(key("word", w) for w in ranked[:SINGLE_TAGS])
    out.add(key("exact", fp.exact))
    if fp.address:
        out.add(key("address", fp.address))
    if fp.reporter:
        out.add(key("reporter", fp.reporter))
    return out


# ---------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class Rules:
    """The detector's knobs (settings ``DEDUP_*``)."""

    window_days: int = 90  # closed cases stay candidates this long; open ones always
    min_score: float = 0.5  # below this a pair is not shown
    radius_m: float = 200.0  # two reports this close are "nearby" (a category may narrow it)
    component_radius_m: float = 50.0  # a component (井盖, 路灯) is one object: a tighter radius


@dataclass(frozen=True)
class Match:
    score: float
    reasons: list[str]
    details: dict[str, Any]


def distance_m(a_lat: float, a_lng: float, b_lat: float, b_lng: float) -> float:
    dlat, dlng = math.radians(b_lat - a_lat), math.radians(b_lng - a_lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(math.radians(a_lat)) * math.cos(math.radians(b_lat)) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def _cover(a: Fingerprint, b: Fingerprint) -> float:
    """The share of ``a``'s keyword weight that ``b``'s text mentions (segmentation-proof: substrings)."""
    total, text = a.tag_weight, b.text
    return sum(w for word, w in a.tags.items() if word in text) / total if total else 0.0


def _top_word_missing(a: Fingerprint, b: Fingerprint) -> bool:
    """``a``'s most specific word (an estate's, a company's name, …) is nowhere in ``b``."""
    top = a.top_word
    return top is not None and top not in b.text


def text_similarity(a: Fingerprint, b: Fingerprint) -> float:
    """How much the two texts say the same: shared bigrams of the shorter one, and shared keywords."""
    ga, gb = a.grams, b.grams
    if not ga or not gb:
        return 0.0
    containment = len(ga & gb) / min(len(ga), len(gb))
    # keywords weigh most: two citizens describing one problem share its names, rarely its wording
    # (weights chosen on the labelled sample, see docs/duplicates.md)
    return round(CONTAINMENT_WEIGHT * containment + (1 - CONTAINMENT_WEIGHT) * _shared_words(a, b), 4)


CONTAINMENT_WEIGHT = 0.25


def _shared_words(a: Fingerprint, b: Fingerprint) -> float:
    return (_cover(a, b) + _cover(b, a)) / 2


def similarity_bound(a: Fingerprint, b: Fingerprint) -> float:
    """The most :func:`text_similarity` can be, from the keywords alone (as if every bigram of the
    shorter text were shared): cheap, because it needs no bigram sets."""
    return CONTAINMENT_WEIGHT + (1 - CONTAINMENT_WEIGHT) * _shared_words(a, b)


FAR_M = 1000.0  # two located reports further apart than this are about different places


def score(new: Fingerprint, old: Fingerprint, rules: Rules, similarity: float | None = None) -> Match:
    """How likely ``new`` reports the problem ``old`` reported, with the reasons people see.

    The text carries the score; place, category and reporter add to it; a different place, a
    different category, or each text missing the other's most specific word take from it. The
    score never falls when the text similarity rises (``similarity`` replaces the computed one:
    :func:`best_matches` passes a bound to drop hopeless pairs early).
    """
    reasons: list[str] = []
    details: dict[str, Any] = {}
    same_text = new.exact == old.exact
    if same_text:
        reasons.append("same_text")
    sim = 1.0 if same_text else text_similarity(new, old) if similarity is None else similarity
    details["text_similarity"] = sim
    if sim >= 0.35 and not same_text:
        reasons.append("similar_text")
    value = sim
    if not same_text and _top_word_missing(new, old) and _top_word_missing(old, new):
        value *= 0.7  # 锦绣江南 vs 金色港湾: the same complaint about two different things
    place = 0.0
    if new.lat is not None and new.lng is not None and old.lat is not None and old.lng is not None:
        meters = distance_m(new.lat, new.lng, old.lat, old.lng)
        details["distance_m"] = round(meters)
        radius = rules.component_radius_m if (new.category_code or "").startswith("component:") else rules.radius_m
        if meters <= radius:
            place = 1.0 - 0.5 * meters / radius
            reasons.append("nearby")
        elif meters > FAR_M:
            value *= 0.5
    if new.address and new.address == old.address:
        place = 1.0
        reasons.append("same_address")
    value += 0.15 * place
    if new.category_code and old.category_code:
        if new.category_code == old.category_code:
            value += 0.1
            reasons.append("same_category")
        else:
            value *= 0.6  # both classified, differently: most likely two problems
    if new.reporter and new.reporter == old.reporter:
        value += 0.1
        reasons.append("same_reporter")
    days = abs((new.created_at - old.created_at).total_seconds()) / 86400
    details["days_apart"] = round(days, 1)
    if days <= 3:
        reasons.append("recent")
    if sim < 0.2:
        value *= 0.5  # a place, a category or a reporter alone is not the same problem
    if days > rules.window_days:
        value *= 0.8
    return Match(round(min(1.0, value), 4), reasons, details)


def best_matches(new: Fingerprint, olds: Iterable[tuple[int, Fingerprint]], rules: Rules,
                 limit: int = 5) -> list[tuple[int, Match]]:
    kept = []
    for case_id, old in olds:
        # most candidates share a word or a place and no more: their best possible score (text
        # similarity at its keyword bound) is already below the threshold, so their texts'
        # bigram sets, the costly part of scoring, are never built. The result is the same.
        if new.exact != old.exact and score(new, old, rules, similarity_bound(new, old)).score < rules.min_score:
            continue
        m = score(new, old, rules)
        if m.score >= rules.min_score:
            kept.append((case_id, m))
    kept.sort(key=lambda item: (-item[1].score, -item[0]))
    return kept[:limit]
