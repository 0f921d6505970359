"""Role grants are subtree ranges over materialised paths."""
from __future__ import annotations

from app.core.auth import Grant, Principal
from app.orgs.models import User, subtree_bounds
from app.tasks.queries import ancestor_paths


def test_subtree_bounds_cover_exactly_the_subtree() -> None:
    lo, hi = subtree_bounds("/city/d1/")
    inside = ["/city/d1/", "/city/d1/d1-s1/", "/city/d1/d1-sz/"]
    outside = ["/city/", "/city/d10/", "/city/d2/", "/city/d1-x/"]
    assert all(lo <= p < hi for p in inside)
    assert not any(lo <= p < hi for p in outside)


def test_ancestor_paths() -> None:
    assert ancestor_paths("/city/d1/d1-sz/") == ["/city/", "/city/d1/", "/city/d1/d1-sz/"]


def test_principal_covers_only_its_roles_and_units() -> None:
    p = Principal(User(id=1, username="u", display_name="u", password_hash="x"),
                  (Grant("handler", 5, "/city/d1/d1-sz/"), Grant("supervisor", 2, "/city/d1/")))
    assert p.covers("handler", "/city/d1/d1-sz/")
    assert not p.covers("handler", "/city/d2/d2-sz/")
    assert not p.covers("dispatcher", "/city/d1/d1-sz/")
    assert p.covers("supervisor", "/city/d1/d1-s2/d1-s2-c1/")
    assert p.has_role("supervisor") and not p.has_role("admin")
