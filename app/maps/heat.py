"""The cockpit map's heat layer reads ``cockpit_map_points`` (app.maps.models.CockpitMapPoint): one
row per case with a place — its arrival time, latitude, longitude, grid unit and handling unit.

Database triggers on ``cases`` keep it exact in the same transaction as the change, whoever writes
the case (the engine's statements, the ORM, a bulk import): a new case with a place gets its row;
when its place, arrival time, grid unit or handling unit changes, its row is written again; a
deleted case loses it. Created by migration 0017 (:func:`create_triggers`), which also copies the
cases there are. :func:`rebuild_points` (``flask map rebuild-points``) copies them all again.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select

from app.cases.models import Case
from app.core.db import session
from app.maps.models import CockpitMapPoint

COPIED = ("created_at", "lat", "lng", "grid_unit_id", "handling_unit_id")
POINTS = CockpitMapPoint.__table__
_COLUMNS = "case_id, " + ", ".join(COPIED)
_NEW = "NEW.id, " + ", ".join(f"NEW.{c}" for c in COPIED)

SQLITE = [
    f"""CREATE TRIGGER cockpit_map_points_insert AFTER INSERT ON cases
        WHEN NEW.lat IS NOT NULL AND NEW.lng IS NOT NULL
        BEGIN INSERT INTO cockpit_map_points ({_COLUMNS}) VALUES ({_NEW}); END""",
    f"""CREATE TRIGGER cockpit_map_points_update AFTER UPDATE OF {', '.join(COPIED)} ON cases
        WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in COPIED)}
        BEGIN
          DELETE FROM cockpit_map_points WHERE case_id = OLD.id;
          INSERT INTO cockpit_map_points ({_COLUMNS}) SELECT {_NEW} WHERE NEW.lat IS NOT NULL AND NEW.lng IS NOT NULL;
        END""",
    """CREATE TRIGGER cockpit_map_points_delete AFTER DELETE ON cases
        BEGIN DELETE FROM cockpit_map_points WHERE case_id = OLD.id; END""",
]
POSTGRESQL = [
    f"""CREATE FUNCTION cockpit_map_points_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN DELETE FROM cockpit_map_points WHERE case_id = OLD.id; END IF;
          IF TG_OP <> 'DELETE' AND NEW.lat IS NOT NULL AND NEW.lng IS NOT NULL THEN
            INSERT INTO cockpit_map_points ({_COLUMNS}) VALUES ({_NEW});
          END IF;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER cockpit_map_points_insert AFTER INSERT ON cases FOR EACH ROW
        EXECUTE FUNCTION cockpit_map_points_sync()""",
    f"""CREATE TRIGGER cockpit_map_points_update AFTER UPDATE OF {', '.join(COPIED)} ON cases FOR EACH ROW
        WHEN ({' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in COPIED)})
        EXECUTE FUNCTION cockpit_map_points_sync()""",
    """CREATE TRIGGER cockpit_map_points_delete AFTER DELETE ON cases FOR EACH ROW
        EXECUTE FUNCTION cockpit_map_points_sync()""",
]
DROP = {"sqlite": ["DROP TRIGGER IF EXISTS cockpit_map_points_insert", "DROP TRIGGER IF EXISTS cockpit_map_points_update",
                   "DROP TRIGGER IF EXISTS cockpit_map_points_delete"],
        "postgresql": ["DROP TRIGGER IF EXISTS cockpit_map_points_insert ON cases",
                       "DROP TRIGGER IF EXISTS cockpit_map_points_update ON cases",
                       "DROP TRIGGER IF EXISTS cockpit_map_points_delete ON cases",
                       "DROP FUNCTION IF EXISTS cockpit_map_points_sync()"]}


def create_triggers(execute: Any, dialect: str) -> None:
    """Create the triggers that keep ``cockpit_map_points`` in step with ``cases`` (``execute``
    runs one SQL statement: ``op.execute`` in the migration)."""
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        execute(statement)


def drop_triggers(execute: Any, dialect: str) -> None:
    for statement in DROP["postgresql" if dialect == "postgresql" else "sqlite"]:
        execute(statement)


def rebuild_points() -> int:
    """Copy every case with a place into ``cockpit_map_points`` again; returns how many. In the
    caller's transaction."""
    session.execute(delete(POINTS))
    columns = [Case.id, *(getattr(Case, name) for name in COPIED)]
    session.execute(insert(POINTS).from_select(["case_id", *COPIED], select(*columns).where(
        Case.lat.is_not(None), Case.lng.is_not(None))))
    return int(session.scalar(select(func.count()).select_from(POINTS)) or 0)
