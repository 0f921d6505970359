"""KPI figures of a unit and a period, the unit ranking and the cases behind a figure.

A term without a filter is summed from ``kpi_rollups``: a range scan of its primary key (fact,
day, unit). A term filtered by channel, tier or category is counted from ``case_facts`` (index
fact, day, unit). The live fact ``overdue_open`` (due in the
period, not finished, deadline passed now) is counted from the ``pending`` facts, which are few:
only cases whose handling is still open. No query reads the cases table.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.core.clock import now as clock_now
from app.kpis.formulas import Formula, Term
from app.kpis.models import CaseFact, KpiRollup
from app.orgs.models import subtree_bounds

LIVE_SOURCE = {"overdue_open": "pending"}

Tally = dict[tuple[str, Term], list[float]]  # (unit path or "", term) → [count, sum]


@dataclass(frozen=True)
class Figure:
    key: str
    name: str
    kind: str
    direction: str
    value: float | None
    numerator: float
    denominator: float
    target: float | None

    @property
    def meets_target(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.direction == "higher" else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "kind": self.kind, "direction": self.direction,
                "value": self.value, "numerator": _number(self.numerator), "denominator": _number(self.denominator),
                "target": self.target, "meets_target": self.meets_target}


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


def _filters(model: Any, term: Term) -> list[Any]:
    out = []
    for name, values in term.where:
        if name == "category":
            out.append(or_(*[func.substr(model.category, 1, len(v)) == v for v in values]))
        else:
            out.append(getattr(model, name).in_(values))
    return out


def _unit_clause(model: Any, paths: Iterable[str]) -> Any:
    ranges = [subtree_bounds(p) for p in paths]
    return or_(*[and_(model.unit_path >= lo, model.unit_path < hi) for lo, hi in ranges])


def tallies(formulas: Iterable[Formula], paths: list[str], start: date, end: date, session: Any,
            by_unit: bool = False, at: datetime | None = None) -> Tally:
    """Count every term of ``formulas`` over the units ``paths`` (each with its subtree), days
    ``start``–``end`` inclusive; by the stored unit path when ``by_unit`` (for rankings)."""
    terms = sorted({t for f in formulas for t in f.terms()}, key=lambda t: (t.fact, t.where, t.measure))
    out: Tally = defaultdict(lambda: [0.0, 0.0])
    moment = at or clock_now()
    rolled = [t for t in terms if t.by_rollups and t.fact not in LIVE_SOURCE]
    if rolled:
        R = KpiRollup
        rows = session.execute(
            select(R.fact, *([R.unit_path] if by_unit else []), func.sum(R.count), func.sum(R.total))
            .where(R.fact.in_(sorted({t.fact for t in rolled})), R.day >= start, R.day <= end, _unit_clause(R, paths))
            .group_by(R.fact, *([R.unit_path] if by_unit else [])))
        by_fact: dict[str, list[Term]] = defaultdict(list)
        for t in rolled:
            by_fact[t.fact].append(t)
        for row in rows:
            unit = row[1] if by_unit else ""
            count, total = row[-2] or 0, row[-1] or 0.0
            for t in by_fact[row.fact]:
                cell = out[(unit, t)]
                cell[0] += count
                cell[1] += total
    F = CaseFact
    for t in terms:
        if t in rolled:
            continue
        conditions = [F.fact == LIVE_SOURCE.get(t.fact, t.fact), F.day >= start, F.day <= end,
                      _unit_clause(F, paths), *_filters(F, t)]
        if t.fact in LIVE_SOURCE:
            conditions.append(F.at < moment)
        q = select(*([F.unit_path] if by_unit else []), func.count(), func.coalesce(func.sum(F.value), 0.0)).where(*conditions)
        if by_unit:
            q = q.group_by(F.unit_path)
        for row in session.execute(q):
            unit = row[0] if by_unit else ""
            cell = out[(unit, t)]
            cell[0] += row[-2] or 0
            cell[1] += row[-1] or 0.0
    return out


def _side(tally: Tally, unit: str | None, part: tuple[tuple[Term, ...], tuple[Term, ...]],
          units: Iterable[str] | None = None) -> float:
    total = 0.0
    for sign, terms in ((1, part[0]), (-1, part[1])):
        for t in terms:
            i = 1 if t.measure == "sum" else 0
            if units is None:
                total += sign * tally.get((unit or "", t), [0.0, 0.0])[i]
            else:
                total += sign * sum(tally.get((u, t), [0.0, 0.0])[i] for u in units)
    return total


def figure(f: Formula, tally: Tally, locale: str, units: Iterable[str] | None = None) -> Figure:
    units = list(units) if units is not None else None
    num, den = _side(tally, "", f.numerator, units), _side(tally, "", f.denominator, units)
    if den <= 0:
        value = None
    elif f.kind == "hours":
        value = round(num / den / 60, 2)
    else:
        value = round(num / den, 4)
    return Figure(f.key, f.name(locale), f.kind, f.direction, value, num, den, f.target)


def figures(formulas: list[Formula], path: str, start: date, end: date, session: Any, locale: str = "zh",
            at: datetime | None = None) -> list[Figure]:
    """Every KPI of the unit at ``path`` (with everything below it) over the days start–end."""
    tally = tallies(formulas, [path], start, end, session, at=at)
    return [figure(f, tally, locale) for f in formulas]


def ranking(formulas: list[Formula], paths: list[str], start: date, end: date, session: Any, locale: str = "zh",
            at: datetime | None = None) -> dict[str, list[Figure]]:
    """The KPIs of several units in one pass: {unit path: figures}."""
    tally = tallies(formulas, paths, start, end, session, by_unit=True, at=at)
    stored = sorted({u for u, _t in tally})
    out = {}
    for p in paths:
        lo, hi = subtree_bounds(p)
        below = [u for u in stored if lo <= u < hi]
        out[p] = [figure(f, tally, locale, below) for f in formulas]
    return out


def case_ids(f: Formula, part: str, path: str, start: date, end: date, session: Any,
             at: datetime | None = None) -> list[int]:
    """The cases behind the numerator or denominator of a figure (plus terms less minus terms),
    in id order. For a ``sum`` term these are the cases whose values are summed."""
    plus, minus = f.numerator if part == "numerator" else f.denominator
    moment = at or clock_now()

    def ids(terms: tuple[Term, ...]) -> set[int]:
        found: set[int] = set()
        F = CaseFact
        for t in terms:
            conditions = [F.fact == LIVE_SOURCE.get(t.fact, t.fact), F.day >= start, F.day <= end,
                          _unit_clause(F, [path]), *_filters(F, t)]
            if t.fact in LIVE_SOURCE:
                conditions.append(F.at < moment)
            found.update(session.scalars(select(F.case_id).where(*conditions)))
        return found
    return sorted(ids(plus) - ids(minus))


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before (a calendar month → the month before)."""
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        first = start
        for _ in range(months):
            first = (first - timedelta(days=1)).replace(day=1)
        return first, start - timedelta(days=1)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)
