"""The active catalogue in memory: look-ups and typeahead search without a query per keystroke.

Each process keeps one index of the active versions (categories and topics, ~1,000 rows), built
on first use. Every ``TTL`` seconds it asks the database which versions are active (one small
query) and rebuilds only when they changed; a load in this process rebuilds it after its commit.
A search is a few bisects in sorted lists of precomputed strings (Chinese names and their
suffixes, pinyin initials and syllables, codes) and touches only the matches: well under a
millisecond, and repeated queries are answered from a small cache.

Matching, best first: exact (name, code, initials or full pinyin), then a citizen's word for it
(``data/synonyms.txt``), then the name's last word(s) (``jg`` is the head of 污水井盖, "a kind of
井盖"; the generic 异常 of an event name does not count), then a prefix (景观灯 for ``jg``: a
modifier, no kind of 景观), then inside the name or from a later syllable, then in the major
class / parent topics; a secondary reading of a polyphone counts after the common one. Among matches of the same quality the common categories come first
(``data/common_categories.txt``), then shorter names, then the code.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.catalog.models import GB_DIRECTORY, TOPICS_12345, CatalogCategory, CatalogTopic, CatalogVersion
from app.catalog.pinyin import initials_of, readings, syllable_count
from app.core.db import SessionFactory, session

TTL = 30.0
DEFAULT_LIMIT = 20
CACHE_SIZE = 512
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KEY = re.compile(r"^(component|event):(\d{0,5})$")
_SPACES = re.compile(r"\s+")
DATA = Path(__file__).parent / "data"
#: generic words at the end of event names: the head word is the one before (污水井盖异常 → 井盖)
GENERIC_SUFFIXES = ("异常", "问题", "乱象")
UNCOMMON = 1_000_000

# match ranks, best first (see _Searcher._scores); a secondary reading of a polyphone adds SECONDARY
# and a citizen's word the place of the name in its line of data/synonyms.txt
EXACT, ALIAS, HEAD, PREFIX, ALIAS_PART, INSIDE, CONTEXT = 0, 10, 30, 40, 50, 80, 120
SECONDARY = {EXACT: 20, HEAD: 30, PREFIX: 30, INSIDE: 10}


@dataclass(frozen=True)
class VersionInfo:
    catalog: str
    version: int
    source: str
    sha256: str
    row_count: int


@dataclass(frozen=True)
class CategoryInfo:
    """A GB/T 47678.5 category: ``key`` (``event:06001``) is what a case stores."""

    key: str
    kind: str
    code: str
    name: str
    major_code: str
    major_class: str
    initials: str
    version: int
    active: bool = True


@dataclass(frozen=True)
class TopicInfo:
    """A node of the 12345 topic tree; ``path_name`` is ``一级/二级/三级``."""

    code: str
    level: int
    parent_code: str | None
    name: str
    path_name: str
    initials: str
    leaf: bool
    version: int


I = TypeVar("I", CategoryInfo, TopicInfo)


@dataclass
class _Entry(Generic[I]):
    info: I
    name: str
    code: str
    key: str | None                 # categories: kind:code; topics: None
    kind: str | None
    context: str                    # Chinese text matched with a lower rank: major class, parent topics
    initials: list[str]             # every reading, the primary first
    syllables: list[list[str]]      # full pinyin per reading, the primary first
    context_initials: list[str] = field(default_factory=list)
    context_syllables: list[list[str]] = field(default_factory=list)
    aliases: list[tuple[str, int]] = field(default_factory=list)  # citizens' words, the name's place
    common: int = UNCOMMON          # place in data/common_categories.txt: lower is more common


def _word_starts(name: str) -> list[int]:
    """Where the words of ``name`` start (jieba's segmentation), the first word excluded:
    污水井盖 → [2] (污水/井盖), 景观灯 → [] (one word)."""
    import jieba
    if not jieba.dt.initialized:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
    starts, at = [], 0
    for word in jieba.lcut(name, HMM=False):
        if at and _HAN.match(word):
            starts.append(at)
        at += len(word)
    return starts


def _head_texts(name: str, syllables: list[list[str]]) -> tuple[set[str], set[tuple[str, int]]]:
    """The name's last words, as Chinese text and as (initials or full pinyin, reading's penalty):
    every suffix of the name that starts at a word or at one of its last two characters, and of the
    name without a generic ending (异常) also the whole rest. 污水井盖异常 → 井盖, 污水井盖, 盖;
    交通信号灯 → 信号灯, 号灯, 灯; 道路交通 → 交通, 通 (路交通 is no word)."""
    base_len = len(name)
    for suffix in GENERIC_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base_len = len(name) - len(suffix)
            break
    starts = _word_starts(name)
    # the last one or two characters name the thing (景观灯 is a 灯), whatever jieba made of them
    # (中水井盖: 中/水井/盖)
    starts = sorted({*starts, *(k for k in (base_len - 1, base_len - 2) if k > 0 and _HAN.match(name[k]))})
    han = {name[k:] for k in starts}
    han.update(name[k:base_len] for k in [0, *starts] if k < base_len < len(name))
    latin: set[tuple[str, int]] = set()
    cut = syllable_count(name[base_len:])  # syllables of the generic ending
    for v, syl in enumerate(syllables):
        penalty = min(v, 1)
        for k in starts:
            at = syllable_count(name[:k])
            if at < len(syl):
                latin.update({(initials_of(syl[at:]), penalty), ("".join(syl[at:]), penalty)})
                if cut and at < len(syl) - cut:
                    latin.update({(initials_of(syl[at:-cut]), penalty), ("".join(syl[at:-cut]), penalty)})
        if cut and len(syl) > cut:
            latin.update({(initials_of(syl[:-cut]), penalty), ("".join(syl[:-cut]), penalty)})
    return han, latin


def _name_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def common_order() -> tuple[str, ...]:
    """The lines of data/common_categories.txt: names, or ``*井盖`` for every name ending in 井盖."""
    return tuple(_name_lines(DATA / "common_categories.txt"))


@lru_cache(maxsize=1)
def synonyms() -> dict[str, tuple[str, ...]]:
    """data/synonyms.txt: a citizen's word → the catalogue names it stands for, best first."""
    out: dict[str, tuple[str, ...]] = {}
    for line in _name_lines(DATA / "synonyms.txt"):
        word, _eq, names = line.partition("=")
        targets = tuple(n.strip() for n in names.split(",") if n.strip())
        if word.strip() and targets:
            out[word.strip()] = targets
    return out


def _common_rank(name: str, order: tuple[str, ...]) -> int:
    for place, line in enumerate(order):
        if line == name or (line.startswith("*") and name.endswith(line[1:])):
            return place
    return UNCOMMON


def _split(stored: str) -> list[str]:
    return [v for v in stored.split(" ") if v]


def _readings_of(text: str) -> tuple[list[str], list[list[str]]]:
    variants = readings(text)
    return list(dict.fromkeys(initials_of(v) for v in variants)), variants


Posting = tuple[str, int, int]  # (text, entry index, penalty of a secondary reading)


def _range(postings: list[Posting], token: str) -> list[Posting]:
    """The postings whose text starts with ``token`` (the list is sorted: one bisect, then a scan)."""
    i = bisect_left(postings, (token,))
    out = []
    while i < len(postings) and postings[i][0].startswith(token):
        out.append(postings[i])
        i += 1
    return out


def _rank(rank: int, secondary: int) -> int:
    return rank + SECONDARY[rank] if secondary else rank


class _Searcher(Generic[I]):
    """Sorted postings of every searchable string and its suffixes: a query is a few bisects and a
    scan of the matches only, whatever the size of the catalogue."""

    def __init__(self, entries: list[_Entry[I]]) -> None:
        self.entries = entries
        self.order = [(e.common, len(e.name), e.code) for e in entries]
        self.by_code = {e.code: i for i, e in enumerate(entries)}
        names: set[Posting] = set()        # name: exact or prefix
        name_inner: set[Posting] = set()   # suffixes of the name: the token is inside it
        context: set[Posting] = set()      # suffixes of the major class / parent path
        latin: set[Posting] = set()        # initials and full pinyin: exact or prefix
        latin_inner: set[Posting] = set()  # from a later syllable
        latin_context: set[Posting] = set()
        codes: set[Posting] = set()        # category codes and keys: exact or prefix
        aliases: set[Posting] = set()      # citizens' words, Chinese and pinyin: exact or prefix
        self.heads: dict[str, dict[int, int]] = {}  # the name's last words → entry → penalty
        for i, e in enumerate(entries):
            names.add((e.name, i, 0))
            name_inner.update((e.name[k:], i, 0) for k in range(1, len(e.name)))
            context.update((e.context[k:], i, 0) for k in range(len(e.context)))
            for v, initials in enumerate(e.initials):
                latin.add((initials, i, min(v, 1)))
                latin_inner.update((initials[k:], i, min(v, 1)) for k in range(1, len(initials)))
            for v, syllables in enumerate(e.syllables):
                latin.add(("".join(syllables), i, min(v, 1)))
                latin_inner.update(("".join(syllables[k:]), i, min(v, 1)) for k in range(1, len(syllables)))
            for initials in e.context_initials:
                latin_context.update((initials[k:], i, 0) for k in range(len(initials)))
            for syllables in e.context_syllables:
                latin_context.update(("".join(syllables[k:]), i, 0) for k in range(len(syllables)))
            if e.key is not None:
                codes.update({(e.code, i, 0), (e.key, i, 0)})
            han_heads, latin_heads = _head_texts(e.name, e.syllables)
            for text in han_heads:
                self.heads.setdefault(text, {})[i] = 0
            for text, penalty in latin_heads:
                known = self.heads.setdefault(text, {})
                known[i] = min(known.get(i, 1), penalty)
            for alias, place in e.aliases:
                aliases.add((alias, i, place))
                for variant in readings(alias)[:1]:
                    aliases.update({(initials_of(variant), i, place), ("".join(variant), i, place)})
        self.names, self.name_inner, self.context = sorted(names), sorted(name_inner), sorted(context)
        self.latin, self.latin_inner = sorted(latin), sorted(latin_inner)
        self.latin_context, self.codes = sorted(latin_context), sorted(codes)
        self.aliases = sorted(aliases)
        self._cache: dict[tuple[str, str | None, int], list[tuple[I, int]]] = {}

    def search(self, q: str, kind: str | None, limit: int) -> list[I]:
        return [info for info, _rank in self.ranked(q, kind, limit)]

    def ranked(self, q: str, kind: str | None, limit: int) -> list[tuple[I, int]]:
        """The best ``limit`` matches of ``q`` with their rank (0: exact; summed over the words)."""
        tokens = [t for t in _SPACES.split(q.strip().lower().replace("'", "").replace("’", "")) if t]
        cache_key = (" ".join(tokens), kind, limit)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        if not tokens:
            found = [(e.info, CONTEXT) for e in self.entries if kind is None or e.kind == kind][:limit]
        else:
            total: dict[int, int] | None = None
            wanted = (lambda i: self.entries[i].kind == kind) if kind is not None else None
            for token in tokens:
                scores = self._scores(token, limit if len(tokens) == 1 else None, wanted)
                total = scores if total is None else {i: s + scores[i] for i, s in total.items() if i in scores}
                if not total:
                    break
            ranked = sorted((s, *self.order[i], i) for i, s in (total or {}).items()
                            if kind is None or self.entries[i].kind == kind)
            found = [(self.entries[r[-1]].info, r[0]) for r in ranked[:limit]]
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[cache_key] = found
        return found

    def _scores(self, token: str, enough: int | None = None,
                wanted: Callable[[int], bool] | None = None) -> dict[int, int]:
        """Entry index → rank of its best match of ``token`` (the constants above): exact, a citizen's
        word for it, the name's last word(s) (its head: 污水井盖 is a kind of 井盖), a prefix (a
        modifier: 景观灯 is no kind of 景观), inside, in the major class or parent topics.
        A match through a secondary reading of a polyphone ranks after the same match through the
        common reading: pypinyin also knows rare readings (其 ji), which must not push the obvious
        matches down.

        With ``enough``, matches inside the name and in its context are skipped once that many
        (``wanted``) entries matched better: they could not reach the first ``enough`` places."""
        best: dict[int, int] = {}

        def put(i: int, score: int) -> None:
            if score < best.get(i, 999):
                best[i] = score

        def full() -> bool:
            if enough is None:
                return False
            return (len(best) if wanted is None else sum(1 for i in best if wanted(i))) >= enough

        steps: list[tuple[list[Posting], Callable[[str, int], int]]]
        if _HAN.search(token):
            steps = [(self.names, lambda text, _p: EXACT if text == token else PREFIX),
                     (self.aliases, lambda text, p: (ALIAS if text == token else ALIAS_PART) + p)]
            weak = [(self.name_inner, lambda _t, _p: INSIDE), (self.context, lambda _t, _p: CONTEXT)]
        else:
            if token in self.by_code:
                put(self.by_code[token], EXACT)
            steps = [(self.codes if token.isdigit() or _KEY.match(token) else [],
                      lambda text, _p: EXACT if text == token else PREFIX),
                     (self.latin, lambda text, p: _rank(EXACT if text == token else PREFIX, p)),
                     (self.aliases, lambda text, p: (ALIAS if text == token else ALIAS_PART) + p)]
            weak = [(self.latin_inner, lambda _t, p: _rank(INSIDE, p)), (self.latin_context, lambda _t, _p: CONTEXT)]
        for postings, rank in steps:
            for text, i, penalty in _range(postings, token):
                put(i, rank(text, penalty))
        for i, penalty in self.heads.get(token, {}).items():
            put(i, _rank(HEAD, penalty))
        for postings, rank in weak:
            if full():
                break
            for text, i, penalty in _range(postings, token):
                put(i, rank(text, penalty))
        return best


@dataclass
class CatalogIndex:
    """The active versions in memory; immutable once built (a new load builds a new one)."""

    active_ids: tuple[int, ...]
    versions: dict[str, VersionInfo]
    categories: dict[str, CategoryInfo]
    retired_categories: dict[str, CategoryInfo]
    topics: dict[str, TopicInfo]
    topics_by_path: dict[str, TopicInfo]
    category_search: _Searcher[CategoryInfo] = field(repr=False)
    topic_search: _Searcher[TopicInfo] = field(repr=False)


def _active_ids(s: Session) -> tuple[int, ...]:
    return tuple(s.scalars(select(CatalogVersion.id).where(CatalogVersion.active.is_(True))
                           .order_by(CatalogVersion.id)).all())


def build_index(s: Session) -> CatalogIndex:
    """Read the active versions (and the keys of older ones) and prepare them for search."""
    versions = {v.id: v for v in s.scalars(select(CatalogVersion)).all()}
    active = {v.catalog: v for v in versions.values() if v.active}
    infos = {c: VersionInfo(v.catalog, v.version, v.source, v.sha256, v.row_count) for c, v in active.items()}

    categories: dict[str, CategoryInfo] = {}
    retired: dict[str, CategoryInfo] = {}
    entries: list[_Entry[CategoryInfo]] = []
    major_readings: dict[str, tuple[list[str], list[list[str]]]] = {}
    gb = active.get(GB_DIRECTORY)
    order = common_order()
    words_for: dict[str, list[tuple[str, int]]] = {}
    for word, targets in synonyms().items():
        for place, target in enumerate(targets[:9]):
            words_for.setdefault(target, []).append((word, place))
    rows = s.scalars(select(CatalogCategory).order_by(CatalogCategory.version_id, CatalogCategory.kind,
                                                      CatalogCategory.code)).all()
    for r in rows:
        v = versions[r.version_id]
        initials = _split(r.initials)
        info = CategoryInfo(key=r.key, kind=r.kind, code=r.code, name=r.name, major_code=r.major_code,
                            major_class=r.major_class, initials=initials[0] if initials else "",
                            version=v.version, active=v.active)
        if gb is None or r.version_id != gb.id:
            retired[r.key] = info  # later versions overwrite earlier ones
            continue
        categories[r.key] = info
        if r.major_class not in major_readings:
            major_readings[r.major_class] = _readings_of(r.major_class)
        context_initials, context_syllables = major_readings[r.major_class]
        entries.append(_Entry(info=info, name=r.name, code=r.code, key=r.key, kind=r.kind, context=r.major_class,
                              initials=initials, syllables=[p.split("'") for p in _split(r.pinyin)],
                              context_initials=context_initials, context_syllables=context_syllables,
                              aliases=words_for.get(r.name, []), common=_common_rank(r.name, order)))
    for key in categories:
        retired.pop(key, None)

    topics: dict[str, TopicInfo] = {}
    topic_entries: list[_Entry[TopicInfo]] = []
    tree = active.get(TOPICS_12345)
    if tree is not None:
        trows = s.scalars(select(CatalogTopic).where(CatalogTopic.version_id == tree.id)
                          .order_by(CatalogTopic.id)).all()
        parents = {r.parent_code for r in trows if r.parent_code}
        readings_by_code: dict[str, tuple[list[str], list[list[str]]]] = {}
        for r in trows:
            initials = _split(r.initials)
            syllables = [p.split("'") for p in _split(r.pinyin)]
            readings_by_code[r.code] = (initials, syllables)
            info = TopicInfo(code=r.code, level=r.level, parent_code=r.parent_code, name=r.name,
                             path_name=r.path_name, initials=initials[0] if initials else "",
                             leaf=r.code not in parents, version=tree.version)
            topics[r.code] = info
            parents_of = [readings_by_code.get(r.code.rsplit(".", d)[0], ([], [])) for d in range(1, r.level)]
            topic_entries.append(_Entry(info=info, name=r.name, code=r.code, key=None, kind=None,
                                        context=r.path_name.rsplit("/", 1)[0] if r.level > 1 else "",
                                        initials=initials, syllables=syllables,
                                        context_initials=[x for p in parents_of for x in p[0]],
                                        context_syllables=[x for p in parents_of for x in p[1]]))
    return CatalogIndex(active_ids=tuple(sorted(v.id for v in active.values())), versions=infos,
                        categories=categories, retired_categories=retired, topics=topics,
                        topics_by_path={t.path_name: t for t in topics.values()},
                        category_search=_Searcher(entries), topic_search=_Searcher(topic_entries))


# ---------------------------------------------------------------------------- the process-wide index

_lock = threading.Lock()
_indexes: dict[str, tuple[CatalogIndex, float]] = {}  # by database URL: tests run several apps
_CHANGED = "tongguan_catalog_changed"


def _db_key() -> str:
    if has_app_context() and "db_engine" in current_app.extensions:
        return str(current_app.extensions["db_engine"].url)
    return ""


def catalogue() -> CatalogIndex:
    """The index of the active versions, rebuilt when another process activated a version."""
    db_key = _db_key()
    cached = _indexes.get(db_key)
    if cached is not None and time.monotonic() - cached[1] < TTL:
        return cached[0]
    with _lock:
        cached = _indexes.get(db_key)
        if cached is not None and time.monotonic() - cached[1] < TTL:
            return cached[0]
        s = session()
        if cached is not None and _active_ids(s) == cached[0].active_ids:
            index = cached[0]
        else:
            index = build_index(s)
        _indexes[db_key] = (index, time.monotonic())
        return index


def invalidate() -> None:
    """Forget the index of this process (rebuilt on next use)."""
    with _lock:
        _indexes.clear()


def changed() -> None:
    """Called by an operation that changed the catalogue: rebuild now and again after the commit
    (or the rollback), so no process keeps an index of uncommitted rows."""
    session().info[_CHANGED] = True
    invalidate()


def _after_end(s: Session) -> None:
    if s.info.pop(_CHANGED, False):
        invalidate()


event.listen(SessionFactory, "after_commit", _after_end)
event.listen(SessionFactory, "after_rollback", _after_end)


# ---------------------------------------------------------------------------- public functions

def lookup_category(key: str | None, include_retired: bool = False) -> CategoryInfo | None:
    """The active category of ``key`` (``event:06001``), or None when the active directory has no
    such key. ``include_retired`` also finds keys only older versions had (cases keep their key)."""
    if not key:
        return None
    index = catalogue()
    found = index.categories.get(key)
    if found is None and include_retired:
        found = index.retired_categories.get(key)
    return found


def lookup_topic(code: str | None) -> TopicInfo | None:
    """The active topic of a code (``a1b2c3.d4e5f6``) or of a path name (``城乡建设/安全生产``)."""
    if not code:
        return None
    index = catalogue()
    return index.topics.get(code) or index.topics_by_path.get(code)


def search_categories(q: str, kind: str | None = None, limit: int = DEFAULT_LIMIT) -> list[CategoryInfo]:
    """Categories for a typeahead: Chinese text, pinyin initials (``jg``), full pinyin (``jinggai``),
    a code prefix (``0600``) or key (``event:06``); several words must all match. No query: the
    directory in kind and code order. ``kind``: ``component`` or ``event``."""
    return catalogue().category_search.search(q or "", kind, max(1, limit))


def category_matches(q: str, kind: str | None = None,
                     limit: int = DEFAULT_LIMIT) -> list[tuple[CategoryInfo, bool]]:
    """:func:`search_categories` with, for each match, whether it is exact (the whole name, code,
    initials or full pinyin): a picker preselects the first match only when it alone is exact."""
    ranked = catalogue().category_search.ranked(q or "", kind, max(1, limit))
    return [(info, bool((q or "").strip()) and rank == EXACT) for info, rank in ranked]


def topic_matches(q: str, limit: int = DEFAULT_LIMIT) -> list[tuple[TopicInfo, bool]]:
    """:func:`search_topics` with whether each match is exact, like :func:`category_matches`."""
    ranked = catalogue().topic_search.ranked(q or "", None, max(1, limit))
    return [(info, bool((q or "").strip()) and rank == EXACT) for info, rank in ranked]


def search_topics(q: str, limit: int = DEFAULT_LIMIT) -> list[TopicInfo]:
    """Topics of the 12345 tree, matched like categories (a parent's name finds its children)."""
    return catalogue().topic_search.search(q or "", None, max(1, limit))


def active_versions() -> dict[str, VersionInfo]:
    """The active version of each loaded catalogue, by catalogue name."""
    return catalogue().versions
