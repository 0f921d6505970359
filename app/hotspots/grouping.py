"""Hot spots (热点问题): reports of one problem at one place that recur, ranked by a heat index.

This is the pure part (no database): it serves the cases of a unit (:mod:`app.hotspots.queries`)
and the evaluation on a file of citizen messages (:mod:`app.hotspots.evaluate`) alike.

Two reports belong to one hot spot when they are about **the same place** and **the same problem**:

- the place is, in this order, the map cell around the report's coordinates (each report takes,
  of the four offset grids of :data:`CELL_DEG`, the cell most reports of its problem share, so a
  cluster is not cut by a grid line), the most specific place its address or text names
  (:func:`app.hotspots.places.place_of`: 锦绣江南小区 before 滨江社区), its grid unit, or else the most
  specific word of its text (a company's or a project's name);
- the problem is the category when both are classified; otherwise the text: the duplicate
  detector's similarity of the two texts (:func:`app.duplicates.detector.text_similarity`) at or
  above :attr:`Rules.min_similarity` with one of the first members of the group.

The heat index (docs/hotspots.md) of a hot spot of reports ``i``::

    volume = Σ_i 0.5 ** (age_i / half_life) × (1 + repeats_i + log2(1 + likes_i))
    heat   = volume × (1 + unsolved share) × (1 + rework share)

``repeats`` are the reports merged into a case (``repeat_count``), ``likes`` the support a message
got on the public board, the unsolved share the part of its cases still open, the rework share the
part sent back after a failed inspection or reopened after the call-back.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.duplicates.detector import Fingerprint, normalize, text_similarity

CELL_DEG = 0.003  # about 330 m north-south, 290 m east-west at 30°N
_OFFSETS = ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5))
COMPARED = 5  # a report joins a group when it is similar to one of the group's first reports


@dataclass(frozen=True)
class Rules:
    """The grouping's and the heat index's knobs."""

    half_life_days: float | None = 30.0  # a report's weight halves every so many days; None: no decay
    min_reports: int = 2  # fewer reports (merged repeats included) are no hot spot
    min_similarity: float = 0.3  # text similarity that makes two unclassified reports one problem


@dataclass
class Report:
    """One report as the grouping sees it."""

    id: int | str
    at: datetime
    fingerprint: Fingerprint | None = None  # tags and text; None when only the category counts
    category: str | None = None
    lat: float | None = None
    lng: float | None = None
    place: str | None = None  # the named place of the address or text
    unit: str | None = None  # the grid unit, as a fallback place
    title: str = ""
    repeats: int = 0
    likes: int = 0
    reporter: str | None = None
    open: bool = False
    reworked: bool = False
    people: Sequence[str] = ()


@dataclass
class HotSpot:
    place: str  # what the place is called (the commonest named place, else the key)
    problem: str | None  # the category, when classified
    reports: list[Report] = field(default_factory=list)
    heat: float = 0.0
    volume: float = 0.0
    description: str = ""
    terms: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)

    @property
    def case_ids(self) -> list[int | str]:
        return [r.id for r in sorted(self.reports, key=lambda r: (r.at, str(r.id)))]

    @property
    def count(self) -> int:
        """Reports: the members and the repeats merged into them."""
        return sum(1 + r.repeats for r in self.reports)

    @property
    def repeats(self) -> int:
        return sum(r.repeats for r in self.reports)

    @property
    def likes(self) -> int:
        return sum(r.likes for r in self.reports)

    @property
    def reporters(self) -> int:
        """Distinct reporters among the members (reports without one count each)."""
        known = {r.reporter for r in self.reports if r.reporter}
        return len(known) + sum(1 for r in self.reports if not r.reporter)

    @property
    def open_count(self) -> int:
        return sum(1 for r in self.reports if r.open)

    @property
    def reworked_count(self) -> int:
        return sum(1 for r in self.reports if r.reworked)

    @property
    def first_at(self) -> datetime:
        return min(r.at for r in self.reports)

    @property
    def last_at(self) -> datetime:
        return max(r.at for r in self.reports)

    @property
    def unsolved_share(self) -> float:
        return self.open_count / len(self.reports)

    @property
    def rework_share(self) -> float:
        return self.reworked_count / len(self.reports)

    @property
    def center(self) -> tuple[float, float] | None:
        points = [(r.lat, r.lng) for r in self.reports if r.lat is not None and r.lng is not None]
        if not points:
            return None
        return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def report_weight(report: Report, now: datetime, rules: Rules) -> float:
    """One report's share of a hot spot's volume: itself, its merged repeats and its likes, decayed by age."""
    weight = 1 + report.repeats + math.log2(1 + max(report.likes, 0))
    if rules.half_life_days:
        age = max((now - report.at).total_seconds() / 86400, 0.0)
        weight *= 0.5 ** (age / rules.half_life_days)
    return weight


def heat_of(spot: HotSpot, now: datetime, rules: Rules) -> tuple[float, float]:
    """(heat, volume) of a hot spot: see the module's docstring and docs/hotspots.md."""
    volume = sum(report_weight(r, now, rules) for r in spot.reports)
    return volume * (1 + spot.unsolved_share) * (1 + spot.rework_share), volume


def _cell(lat: float, lng: float, offset: tuple[float, float]) -> tuple[int, int, int]:
    index = _OFFSETS.index(offset)
    return index, math.floor(lat / CELL_DEG + offset[0]), math.floor(lng / CELL_DEG + offset[1])


def place_keys(reports: Sequence[Report]) -> dict[int, str]:
    """Each report's place key (by position in ``reports``): see the module's docstring."""
    keys: dict[int, str] = {}
    located = [(i, r) for i, r in enumerate(reports) if r.lat is not None and r.lng is not None]
    # the cells of the four grids, counted per problem: a report goes to its busiest cell
    counts: Counter[tuple[str | None, tuple[int, int, int]]] = Counter()
    cells: dict[int, list[tuple[int, int, int]]] = {}
    for i, r in located:
        mine = [_cell(r.lat, r.lng, o) for o in _OFFSETS]  # type: ignore[arg-type]
        cells[i] = mine
        counts.update((r.category, c) for c in mine)
    for i, r in located:
        best = max(cells[i], key=lambda c: (counts[(r.category, c)], -c[0]))
        keys[i] = f"cell:{best[0]}:{best[1]}:{best[2]}"
    for i, r in enumerate(reports):
        if i in keys:
            continue
        if r.place:
            keys[i] = f"place:{r.place}"
        elif r.unit:
            keys[i] = f"unit:{r.unit}"
        elif r.fingerprint is not None and r.fingerprint.top_word:
            keys[i] = f"word:{r.fingerprint.top_word}"
        else:
            keys[i] = f"report:{r.id}"
    return keys


def group(reports: Sequence[Report], now: datetime, rules: Rules = Rules(), limit: int | None = None,
          links: Iterable[tuple[int | str, int | str]] = ()) -> list[HotSpot]:
    """The hot spots among ``reports``, hottest first (ties: more reports, then the latest).

    ``links`` are pairs of report ids known to be the same problem (the duplicate detector's
    candidates that nobody dismissed): they join their groups whatever their place keys say.
    """
    keys = place_keys(reports)
    order = sorted(range(len(reports)), key=lambda i: (reports[i].at, str(reports[i].id)))
    by_place: dict[str, list[int]] = defaultdict(list)
    for i in order:
        by_place[keys[i]].append(i)
    parent = list(range(len(reports)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for members in by_place.values():
        for cluster in _problems(members, reports, rules):
            for i in cluster[1:]:
                join(cluster[0], i)
    position = {r.id: i for i, r in enumerate(reports)}
    for a, b in links:
        i, j = position.get(a), position.get(b)
        # a link never joins two different named places (or cells): chains of "similar" texts
        # would otherwise run across the city
        if i is not None and j is not None and (keys[i] == keys[j] or not _named(keys[i]) or not _named(keys[j])):
            join(i, j)
    clusters: dict[int, list[Report]] = defaultdict(list)
    for i in order:
        clusters[root(i)].append(reports[i])
    spots: list[HotSpot] = []
    for cluster in clusters.values():
        if sum(1 + r.repeats for r in cluster) < rules.min_reports:
            continue
        categories = Counter(r.category for r in cluster if r.category)
        spot = HotSpot(place=_place_label(keys[position[cluster[0].id]], cluster),
                       problem=categories.most_common(1)[0][0] if categories else None, reports=cluster)
        spot.heat, spot.volume = heat_of(spot, now, rules)
        spots.append(spot)
    spots.sort(key=lambda s: (-s.heat, -s.count, -s.last_at.timestamp(), s.place))
    chosen = spots if limit is None else spots[:limit]
    for spot in chosen:
        describe(spot)
    return chosen


def _named(key: str) -> bool:
    return not key.startswith(("word:", "report:"))


def _problems(members: list[int], reports: Sequence[Report], rules: Rules) -> list[list[int]]:
    """The reports of one place (positions, oldest first) split by problem: one group per
    category, and the unclassified ones joined by text to a group whose first reports they
    resemble (else a group of their own)."""
    groups: list[list[int]] = []
    by_category: dict[str, list[int]] = {}
    for i in members:
        category = reports[i].category
        if category:
            if category in by_category:
                by_category[category].append(i)
            else:
                by_category[category] = [i]
                groups.append(by_category[category])
            continue
        home = _similar_group(reports[i], groups, reports, rules)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups


def problem_print(report: Report) -> Fingerprint | None:
    """The report's fingerprint without its place's name: at one place, the name says nothing
    about which problem it is (锦绣江南小区's noise and its parking fees are two)."""
    fp = report.fingerprint
    if fp is None or not report.place:
        return fp
    place = normalize(report.place)
    tags = {w: v for w, v in fp.tags.items() if w not in place and place not in w}
    return replace(fp, text=fp.text.replace(place, ""), tags=tags, _grams=frozenset())


def _similar_group(report: Report, groups: list[list[int]], reports: Sequence[Report],
                   rules: Rules) -> list[int] | None:
    mine = problem_print(report)
    if mine is None:
        return None
    best, best_score = None, rules.min_similarity
    for members in groups:
        for j in members[:COMPARED]:
            other = problem_print(reports[j])
            if other is None:
                continue
            score = text_similarity(mine, other)
            if score >= best_score:
                best, best_score = members, score
    return best


def _place_label(key: str, reports: Iterable[Report]) -> str:
    """The place most of the reports name (in their titles first: descriptions name other places
    in passing), else the grid unit or the word the group is keyed by; "" for a map cell."""
    reports = list(reports)
    for named in (Counter(r.place for r in reports if r.place and r.place in r.title),
                  Counter(r.place for r in reports if r.place)):
        if named:
            return named.most_common(1)[0][0]
    kind, _sep, value = key.partition(":")
    return value if kind in ("unit", "word") else ""


_NOISE_TERM = re.compile(r"^[a-z]?[0-9]*[a-z]?[0-9]*$")


def _term(word: str) -> str | None:
    """A keyword fit to show: not an anonymised code (a2, k9), without a glued 市/区/县 (区丽发)."""
    if _NOISE_TERM.match(word):
        return None
    if len(word) >= 3 and word[0] in "市区县":
        word = word[1:]
    return word


def describe(spot: HotSpot) -> None:
    """The hot spot's key terms, its most representative title (the report whose words cover
    most of the terms; ties: the earliest) and the people it concerns."""
    weights: Counter[str] = Counter()
    for r in spot.reports:
        if r.fingerprint is not None:
            for word, weight in r.fingerprint.tags.items():
                term = _term(word)
                if term:
                    weights[term] += weight
    spot.terms = [w for w, _n in weights.most_common(5)]
    if spot.terms:
        top = dict(weights.most_common(8))
        best = max(spot.reports, key=lambda r: (sum(v for w, v in top.items() if w in (r.title or "")),
                                                -r.at.timestamp()))
        spot.description = best.title
    else:
        spot.description = min(spot.reports, key=lambda r: (r.at, str(r.id))).title
    people: Counter[str] = Counter()
    for r in spot.reports:
        people.update(r.people)
    spot.people = [p for p, _n in people.most_common(2)]
