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
  detector's similarity of the two texts (:func:`app.duplicates.detector.text_similarity`),
  without the place's own name, at or above :attr:`Rules.min_similarity` with one of the first
  members of the group;
- the detector's candidate pairs (``links``) join groups too, but never two different named
  places or cells: chains of similar texts would otherwise run across the city.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.duplicates.detector import Fingerprint, normalize, text_similarity
from app.hotspots.places import people_of, place_of

CELL_DEG = 0.003  # about 330 m north-south, 290 m east-west at 30°N
COMPARED = 5  # a report joins a group when it is similar to one of the group's first reports


def _id_order(case_id: int | str) -> tuple[int, str]:
    """Case ids in their own order: numbers as numbers (99 before 101), other ids (a CSV's) as text after them."""
    return (case_id, "") if isinstance(case_id, int) else (1 << 62, case_id)


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
    place: str | None = None  # the named place of the address or text (else read from ``texts`` when needed)
    texts: tuple[str | None, ...] = ()  # where to look for a named place: the address first, then the title
    unit: str | None = None  # the grid unit, as a fallback place
    title: str = ""
    repeats: int = 0
    likes: int = 0
    reporter: str | None = None
    open: bool = False
    reworked: bool = False
    people: Sequence[str] = ()  # the groups concerned (else read from the title and keywords)
    _place_read: bool = field(default=False, repr=False, compare=False)

    def named_place(self) -> str | None:
        """The named place, read from ``texts`` the first time it is asked for: most reports with
        coordinates never need it (their cell is their place), so it is not read for them."""
        if self.place is None and not self._place_read and self.texts:
            found = place_of(*self.texts)
            self.place = found.name if found else None
        self._place_read = True
        return self.place


@dataclass
class HotSpot:
    key: str  # the place key of its first report (see place_keys)
    problem: str | None  # the category, when classified
    place: str = ""  # what the place is called (the commonest named place, else the key); set by describe
    reports: list[Report] = field(default_factory=list)
    heat: float = 0.0
    volume: float = 0.0
    description: str = ""
    terms: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)

    @property
    def case_ids(self) -> list[int | str]:
        return [r.id for r in sorted(self.reports, key=lambda r: (r.at, _id_order(r.id)))]

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


DEFAULT_RULES = Rules()


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


Cell = tuple[str | None, int, int, int]  # (category, grid 0–3, row, column)


def cells_of(lat: float, lng: float, category: str | None) -> tuple[Cell, Cell, Cell, Cell]:
    """The four cells a located report may take: of the grid, and of the grids shifted by half a
    cell north, east and north-east (per category: a cell holds one problem)."""
    fy, fx = lat / CELL_DEG, lng / CELL_DEG
    y0, x0, y1, x1 = math.floor(fy), math.floor(fx), math.floor(fy + 0.5), math.floor(fx + 0.5)
    return (category, 0, y0, x0), (category, 1, y1, x0), (category, 2, y0, x1), (category, 3, y1, x1)


def lone_in_cells(located: Iterable[tuple[float, float, str | None]]) -> list[bool]:
    """For located, classified reports: which ones share none of their four cells with another.
    Such a report is alone at its place and of its problem whatever the others are (a link
    never joins two cells), so a caller may leave it out before building reports, unless it
    counts twice by itself (merged repeats)."""
    all_cells = [cells_of(lat, lng, category) for lat, lng, category in located]
    counts: Counter[Cell] = Counter(c for mine in all_cells for c in mine)
    return [all(counts[c] == 1 for c in mine) for mine in all_cells]


def place_keys(reports: Sequence[Report]) -> list[str]:
    """Each report's place key (by position in ``reports``): see the module's docstring.

    A located report's cell is one of four: the cell of the grid and of the grids shifted by half
    a cell north, east and north-east. Each report takes the one that most reports of its
    category share (ties: the unshifted grid first), so reports within half a cell of each other
    share a cell whatever grid line runs between them.
    """
    keys: list[str] = [""] * len(reports)
    counts: dict[Cell, int] = {}
    cells: list[tuple[int, tuple[Cell, ...]]] = []
    for i, r in enumerate(reports):
        if r.lat is None or r.lng is None:
            continue
        mine = cells_of(r.lat, r.lng, r.category)
        for cell in mine:
            counts[cell] = counts.get(cell, 0) + 1
        cells.append((i, mine))
    for i, mine in cells:
        best, most = mine[0], counts[mine[0]]
        for cell in mine[1:]:
            n = counts[cell]
            if n > most:
                best, most = cell, n
        keys[i] = f"cell:{best[1]}:{best[2]}:{best[3]}"
    for i, r in enumerate(reports):
        if keys[i]:
            continue
        if r.named_place():
            keys[i] = f"place:{r.place}"
        elif r.unit:
            keys[i] = f"unit:{r.unit}"
        elif r.fingerprint is not None and r.fingerprint.top_word:
            keys[i] = f"word:{r.fingerprint.top_word}"
        else:
            keys[i] = f"report:{r.id}"
    return keys


def group(reports: Sequence[Report], now: datetime, rules: Rules = DEFAULT_RULES, limit: int | None = None,
          links: Iterable[tuple[int | str, int | str]] = (),
          complete: Callable[[list[HotSpot]], None] | None = None) -> list[HotSpot]:
    """The hot spots among ``reports``, hottest first (ties: more reports, then the latest).

    ``links`` are pairs of report ids known to be the same problem (the duplicate detector's
    candidates that nobody dismissed): they join their groups whatever their place keys say.
    ``complete`` fills in what only the chosen spots' descriptions need (titles, keywords,
    reporters), before they are described: the caller need not read it for every report.
    """
    keys = place_keys(reports)
    order = sorted(range(len(reports)), key=lambda i: (reports[i].at, i))
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
        if (len(cluster) == 1 and cluster[0].repeats + 1 < rules.min_reports) or \
                sum(1 + r.repeats for r in cluster) < rules.min_reports:
            continue
        categories = Counter(r.category for r in cluster if r.category)
        spot = HotSpot(key=keys[position[cluster[0].id]], problem=categories.most_common(1)[0][0] if categories else None,
                       reports=cluster)
        spot.heat, spot.volume = heat_of(spot, now, rules)
        spots.append(spot)
    spots.sort(key=lambda s: (-s.heat, -s.count, -s.last_at.timestamp(), str(s.reports[0].id)))
    chosen = spots if limit is None else spots[:limit]
    if complete is not None:
        complete(chosen)
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
    if fp is None or not report.named_place():
        return fp
    place = normalize(report.place or "")
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


def _place_label(key: str, reports: list[Report], terms: list[str]) -> str:
    """The place most of the titles name; else a place a third of the texts name (descriptions
    name other places in passing); else the grid unit or the word the group is keyed by, or its
    first key term; "" for a map cell without a name (the page shows its centre)."""
    in_titles = Counter(r.place for r in reports if r.named_place() and r.place in r.title)
    if in_titles:
        return in_titles.most_common(1)[0][0]
    anywhere = Counter(r.place for r in reports if r.place).most_common(1)
    if anywhere and anywhere[0][1] >= max(2, len(reports) / 3):
        return anywhere[0][0]
    kind, _sep, value = key.partition(":")
    if kind in ("unit", "word"):
        return value
    return "" if kind == "cell" else (terms[0] if terms else "")


_NOISE_TERM = re.compile(r"^[a-z]?[0-9]*[a-z]?[0-9]*$")


def _term(word: str) -> str | None:
    """A keyword fit to show: not an anonymised code (a2, k9), without a glued 市/区/县 (区丽发)."""
    if _NOISE_TERM.match(word):
        return None
    if len(word) >= 3 and word[0] in "市区县":
        word = word[1:]
    return word


def describe(spot: HotSpot) -> None:
    """The hot spot's place label, key terms, most representative title (the report whose words
    cover most of the terms; ties: the earliest) and the people it concerns."""
    weights: Counter[str] = Counter()
    for r in spot.reports:
        if r.fingerprint is not None:
            for word, weight in r.fingerprint.tags.items():
                term = _term(word)
                if term:
                    weights[term] += weight
    spot.terms = [w for w, _n in weights.most_common(5)]
    spot.place = _place_label(spot.key, spot.reports, spot.terms)
    if spot.terms:
        top = dict(weights.most_common(8))
        best = max(spot.reports, key=lambda r: (sum(v for w, v in top.items() if w in (r.title or "")),
                                                -r.at.timestamp()))
        spot.description = best.title
    else:
        spot.description = min(spot.reports, key=lambda r: (r.at, str(r.id))).title
    people: Counter[str] = Counter()
    for r in spot.reports:
        people.update(r.people or people_of([r.title + " ".join(r.fingerprint.tags if r.fingerprint else ())]))
    spot.people = [p for p, _n in people.most_common(2)]
