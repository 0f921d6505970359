"""The product's clock: every "now" (deadlines, lights, timers, audit times) comes from here.

Production reads the system clock. Tests and the ``flask scheduler sweep --at`` command set a
fixed moment instead, so deadlines and timers are checked without sleeping. The engine's timer
events read this clock too (``app.engine.serializer`` points SpiffWorkflow's timer module at it).

Session and login timeouts read :func:`wall_now` instead: business time may be moved hours ahead
(tests, ``sweep --at``) and a login must not end because deadlines were checked at a later hour.
Tests fix that clock separately with :func:`set_wall_now`.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

_lock = threading.Lock()
_fixed: datetime | None = None
_fixed_wall: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware in UTC."""
    fixed = _fixed
    return fixed if fixed is not None else datetime.now(timezone.utc)


def set_now(moment: datetime | None) -> None:
    """Fix the clock at ``moment`` (aware), or give it back to the system clock with ``None``."""
    global _fixed
    if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
        raise ValueError(f"the clock needs a timezone-aware moment, got {moment.isoformat()}")
    with _lock:
        _fixed = moment.astimezone(timezone.utc) if moment is not None else None


def advance(delta: timedelta) -> datetime:
    """Move a fixed clock forward (tests); returns the new moment."""
    if _fixed is None:
        raise RuntimeError("the clock is not fixed; call set_now() first")
    set_now(_fixed + delta)
    assert _fixed is not None
    return _fixed


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Run a block at a fixed moment, then return to whatever the clock was before."""
    before = _fixed
    set_now(moment)
    try:
        yield
    finally:
        set_now(before)


def wall_now() -> datetime:
    """The real current moment (aware, UTC), for session and login timeouts; fixed only by tests."""
    fixed = _fixed_wall
    return fixed if fixed is not None else datetime.now(timezone.utc)


def set_wall_now(moment: datetime | None) -> None:
    """Fix :func:`wall_now` at ``moment`` (aware), or give it back to the system clock (tests)."""
    global _fixed_wall
    if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
        raise ValueError(f"the clock needs a timezone-aware moment, got {moment.isoformat()}")
    with _lock:
        _fixed_wall = moment.astimezone(timezone.utc) if moment is not None else None
