"""The cockpit's map (数字驾驶舱): the cases of a unit in the visible area, clustered on the server.

A million cases never travel to the browser. The area in view is cut into a grid of cells whose size
follows the zoom (``CELLS_PER_TILE`` cells across a 256-pixel map tile, so a cell is about 64 pixels
wide at every zoom), and the database counts the cases per cell in one ``GROUP BY``:

* ``open``: the open cases, per cell their number, centre (the mean of their places), counts by light
  (green, yellow, red, none: no deadline) and how many are parked (挂账). A cell with at most
  ``POINT_MAX`` cases sends its cases instead (id, number, title, light), which the browser draws as
  markers. Read through ``ix_cases_open_map`` (lat, lng, grid_unit_id, handling_unit_id, yellow_at,
  due_at, parked_at, status WHERE status = 'open'), which covers the count.
* ``recent``: the heat layer, the cases of every status that came in during the last ``days`` days,
  counted per half cell (the weights of the heat map). Read from ``cockpit_map_points``, a narrow
  copy of the cases' place, arrival and units kept by triggers in the same transaction
  (app.maps.heat), through its index (created_at, lat, lng, grid_unit_id, handling_unit_id).

The scope is the unit shown and everything below it: a case counts when its grid unit (the community
it lies in) or its handling unit is in that subtree. Only ``leader``, ``supervisor`` and ``admin``
over the unit see it (:func:`cockpit_unit`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, and_, case as when, cast, func, literal_column, or_, select

from app.cases.models import Case
from app.core import clock
from app.core.auth import Principal
from app.core.db import session
from app.core.errors import Forbidden, ValidationFailed
from app.maps.models import CockpitMapPoint
from app.orgs.directory import UnitInfo, directory

P = CockpitMapPoint.__table__.c
OPEN = literal_column("'open'")  # a literal, as the partial index ix_cases_open_map says: SQLite then uses it

COCKPIT_ROLES = ("leader", "supervisor", "admin")
LAYERS = ("open", "recent")
LIGHT_KEYS = ("green", "yellow", "red", "none")
CELLS_PER_TILE = 4  # a 256-pixel tile holds 4 × 4 cells of 64 pixels
MIN_ZOOM, MAX_ZOOM = 3, 20
POINT_MAX = 8  # a cell with at most this many cases shows them one by one
MAX_POINTS = 2000  # at most this many single cases in one answer (the rest stay clusters)
MAX_RUNS = 16  # more runs of few-case cells than this: one windowed pass instead of many boxes
MAX_CELLS_ACROSS = 64  # a bbox wider or taller than 64 cells (4,096 px) at its zoom is refused
DEFAULT_DAYS, MAX_DAYS = 30, 90
PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


@dataclass(frozen=True)
class BBox:
    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True)
class Grid:
    """Cells of ``lat`` × ``lng`` degrees counted from (−90, −180), the same for every request at a
    zoom, so clusters do not jump when the map is panned. A cell is square on a Web Mercator map near
    the reference latitude (a whole degree: one value for a whole city)."""

    zoom: int
    lat: float
    lng: float

    @classmethod
    def at(cls, zoom: int, ref_lat: float) -> Grid:
        lng = 360.0 / (2 ** zoom * CELLS_PER_TILE)
        return cls(zoom, lng * math.cos(math.radians(round(ref_lat))), lng)

    def finer(self) -> Grid:
        return Grid(self.zoom, self.lat / 2, self.lng / 2)

    def bounds(self, cy: int, cx: int) -> BBox:
        return BBox(cy * self.lat - 90, cx * self.lng - 180, (cy + 1) * self.lat - 90, (cx + 1) * self.lng - 180)


def cockpit_unit(principal: Principal, code: str | None) -> UnitInfo:
    """The unit whose map is asked for: ``code``, or the caller's highest cockpit unit. 403 unless the
    caller is a leader, supervisor or admin over it; 422 for a code that names no unit."""
    units = directory()
    if code:
        unit = units.by_code.get(code)
        if unit is None:
            raise ValidationFailed("invalid query", errors={"unit": [f"no org unit has the code {code!r}"]})
        if not principal.covers(COCKPIT_ROLES, unit.path):
            raise Forbidden("the cockpit is for leaders, supervisors and administrators over the unit")
        return unit
    grants = sorted((g for g in principal.grants if g.role in COCKPIT_ROLES), key=lambda g: (g.unit_path.count("/"), g.unit_path))
    unit = next((units.by_id.get(g.unit_id) for g in grants if g.unit_id in units.by_id), None)
    if unit is None:
        raise Forbidden("the cockpit is for leaders, supervisors and administrators")
    return unit


def unit_ids(unit: UnitInfo) -> list[int]:
    """The ids of ``unit`` and every unit below it (from the in-memory org directory)."""
    return sorted(u.id for u in directory().by_id.values() if u.path.startswith(unit.path))


def scope_condition(unit: UnitInfo) -> Any:
    ids = unit_ids(unit)
    return or_(Case.grid_unit_id.in_(ids), Case.handling_unit_id.in_(ids))


def _cell(column: Any, origin: float, size: float) -> Any:
    """The index of the cell a coordinate falls in: floor((x − origin) / size), never negative
    here. SQLite's CAST truncates (= floor for x ≥ 0); PostgreSQL's rounds, so it gets floor()."""
    x = (column - origin) / size
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(x), Integer)
    return cast(x, Integer)


def _in_bbox(box: BBox) -> list[Any]:
    return [Case.lat.between(box.south, box.north), Case.lng.between(box.west, box.east)]


@dataclass
class Cluster:
    lat: float
    lng: float
    count: int
    lights: dict[str, int]
    parked: int
    bbox: BBox


@dataclass
class Point:
    id: int
    number: str
    title: str
    lat: float
    lng: float
    light: str | None
    parked: bool
    urgency: str


@dataclass
class OpenMap:
    unit: UnitInfo
    grid: Grid
    total: int = 0
    lights: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LIGHT_KEYS, 0))
    parked: int = 0
    clusters: list[Cluster] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


def _light_sums(now: Any) -> list[Any]:
    """SUM(...) per light, as app.sla.deadlines.light: the clock stands at the moment of parking."""
    at = func.coalesce(Case.parked_at, now)
    red = Case.due_at <= at
    yellow = and_(Case.due_at > at, Case.yellow_at <= at)
    green = and_(Case.due_at > at, or_(Case.yellow_at.is_(None), Case.yellow_at > at))
    return [func.sum(when((red, 1), else_=0)), func.sum(when((yellow, 1), else_=0)),
            func.sum(when((green, 1), else_=0)), func.sum(when((Case.due_at.is_(None), 1), else_=0)),
            func.sum(when((Case.parked_at.is_not(None), 1), else_=0))]


def open_map(unit: UnitInfo, box: BBox, zoom: int) -> OpenMap:
    """The open cases of ``unit`` in ``box``: clusters per cell of the zoom's grid, single cases where
    a cell holds few."""
    grid = Grid.at(zoom, (box.south + box.north) / 2)
    now = clock.now()
    cy, cx = _cell(Case.lat, -90, grid.lat).label("cy"), _cell(Case.lng, -180, grid.lng).label("cx")
    base = [Case.status == OPEN, *_in_bbox(box), scope_condition(unit)]
    rows = session.execute(select(cy, cx, func.count(), func.avg(Case.lat), func.avg(Case.lng), *_light_sums(now))
                           .where(*base).group_by(cy, cx)).all()
    result = OpenMap(unit, grid)
    small: set[tuple[int, int]] = set()
    budget = MAX_POINTS
    for y, x, count, lat, lng, red, yellow, green, none, parked in sorted(rows, key=lambda r: r[2]):
        lights = {"green": int(green or 0), "yellow": int(yellow or 0), "red": int(red or 0), "none": int(none or 0)}
        for key in LIGHT_KEYS:
            result.lights[key] += lights[key]
        result.total += count
        result.parked += int(parked or 0)
        if count <= POINT_MAX and count <= budget:
            small.add((y, x))
            budget -= count
        else:
            result.clusters.append(Cluster(float(lat), float(lng), int(count), lights, int(parked or 0), grid.bounds(y, x)))
    if small:
        result.points = _points(base, grid, small, now)
    result.clusters.sort(key=lambda c: (-c.count, c.lat, c.lng))
    return result


def _points(base: list[Any], grid: Grid, cells: set[tuple[int, int]], now: Any) -> list[Point]:
    """The cases of the few-case ``cells``. Few runs of neighbouring small cells (in a row of the
    grid): read by their boxes, a few index ranges. Many (a street-level view): one more pass over
    the area that keeps the rows whose cell holds few, counted by a window function."""
    runs: list[BBox] = []
    for y in sorted({c[0] for c in cells}):
        xs = sorted(x for yy, x in cells if yy == y)
        start = prev = xs[0]
        for x in xs[1:] + [None]:  # type: ignore[list-item]
            if x is not None and x == prev + 1:
                prev = x
                continue
            a, b = grid.bounds(y, start), grid.bounds(y, prev)
            runs.append(BBox(a.south, a.west, a.north, b.east))
            if x is not None:
                start = prev = x
    cy, cx = _cell(Case.lat, -90, grid.lat).label("cy"), _cell(Case.lng, -180, grid.lng).label("cx")
    columns = [Case.id, Case.created_at, Case.title, Case.lat, Case.lng, Case.yellow_at, Case.due_at,
               Case.parked_at, Case.urgency, cy, cx]
    if len(runs) <= MAX_RUNS:
        query = select(*columns).where(*base, or_(*(and_(*_in_bbox(r)) for r in runs))).order_by(Case.id)
    else:
        per_cell = func.count().over(partition_by=[cy, cx]).label("n")
        inner = select(*columns, per_cell).where(*base).subquery()
        query = select(*(inner.c[c.key if c.key in inner.c else c.name] for c in columns)).where(
            inner.c.n <= POINT_MAX).order_by(inner.c.id)
    from app.sla.deadlines import light
    out = []
    for row in session.execute(query):
        if (row.cy, row.cx) not in cells:
            continue
        number = Case.number.fget(row)  # type: ignore[attr-defined]
        out.append(Point(row.id, number, row.title, row.lat, row.lng, light(row.yellow_at, row.due_at, now, row.parked_at),
                         row.parked_at is not None, row.urgency))
    return out


@dataclass
class HeatMap:
    unit: UnitInfo
    grid: Grid
    days: int
    total: int
    cells: list[tuple[float, float, int]]  # centre lat, centre lng, cases


def heat_map(unit: UnitInfo, box: BBox, zoom: int, days: int) -> HeatMap:
    """The cases of ``unit`` (any status) that came in during the last ``days`` days, counted per
    half cell of the zoom's grid: the weights of the heat layer. Read from ``cockpit_map_points``."""
    grid = Grid.at(zoom, (box.south + box.north) / 2).finer()
    cy, cx = _cell(P.lat, -90, grid.lat).label("cy"), _cell(P.lng, -180, grid.lng).label("cx")
    rows = session.execute(select(cy, cx, func.count()).where(*_recent(unit, box, days)).group_by(cy, cx)).all()
    cells = []
    for y, x, count in rows:
        b = grid.bounds(y, x)
        cells.append((round((b.south + b.north) / 2, 6), round((b.west + b.east) / 2, 6), int(count)))
    cells.sort()
    return HeatMap(unit, grid, days, sum(c[2] for c in cells), cells)


def _recent(unit: UnitInfo, box: BBox, days: int, half_open: bool = False) -> list[Any]:
    """The cases of ``unit`` in ``box`` that came in during the last ``days`` days (their points)."""
    ids = unit_ids(unit)
    inside = [P.lat >= box.south, P.lat < box.north, P.lng >= box.west, P.lng < box.east] if half_open else \
        [P.lat.between(box.south, box.north), P.lng.between(box.west, box.east)]
    return [P.created_at >= clock.now() - timedelta(days=days), *inside,
            or_(P.grid_unit_id.in_(ids), P.handling_unit_id.in_(ids))]


def cases_in(unit: UnitInfo, box: BBox, layer: str, days: int, page: int, per_page: int) -> tuple[list[Case], int]:
    """The cases behind a cluster or a heat cell (the same conditions as the map), newest first."""
    # half-open, as the cells are: a case on the line between two cells belongs to one of them
    if layer == "open":
        conditions = [Case.status == OPEN, Case.lat >= box.south, Case.lat < box.north, Case.lng >= box.west,
                      Case.lng < box.east, scope_condition(unit)]
    else:
        conditions = [Case.id.in_(select(P.case_id).where(*_recent(unit, box, days, half_open=True)))]
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    rows = session.scalars(select(Case).where(*conditions).order_by(Case.created_at.desc(), Case.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), int(total)
