"""A set of org units as people pick from it: the tree, grouped and indented, the proposal first.

A flat list mixes streets, communities and bureaus; a picker shows where each unit sits. The
units offered (a form's unit choices, the units a supervisor may reassign into) are grouped under
the nearest unit above them that is *not* itself offered (a district's name heads its bureaus and
streets; at a street, the street heads itself and its communities), and indented by how many
offered units stand between (a community under its offered street). ``<select>`` optgroups do not
nest, so one level of groups and indentation inside them is all a plain form needs.

Pure functions of the in-memory :class:`~app.orgs.directory.OrgDirectory`: no query.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.orgs.directory import OrgDirectory, UnitInfo

#: within one parent: its departments first (they take most cases), then the areas below it
_KIND_RANK = {"department": 0, "city": 1, "district": 1, "street": 1, "community": 1}


@dataclass(frozen=True)
class UnitChoice:
    code: str
    name: str
    kind: str
    depth: int  # indentation inside its group
    proposed: bool = False
    context: str = ""  # where it sits (its group's label), shown when it stands outside its group


@dataclass(frozen=True)
class UnitGroup:
    code: str | None  # the unit heading the group; None for the group of the proposal
    label: str
    choices: tuple[UnitChoice, ...]

    @property
    def proposal(self) -> bool:
        return self.code is None


def _segments(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def _path(segments: list[str]) -> str:
    return "/" + "/".join(segments) + "/" if segments else "/"


def _name(unit: UnitInfo, locale: str) -> str:
    return (unit.name_en or unit.name) if locale == "en" else unit.name


def common_root(units: list[UnitInfo]) -> str:
    """The path of the lowest unit at or above every unit given ('/' for none)."""
    if not units:
        return "/"
    common = _segments(units[0].path)
    for u in units[1:]:
        segs = _segments(u.path)
        n = 0
        while n < min(len(common), len(segs)) and common[n] == segs[n]:
            n += 1
        common = common[:n]
    return _path(common)


def tree_order(units: list[UnitInfo], directory: OrgDirectory) -> list[UnitInfo]:
    """Units in tree order: each unit before what is below it, departments before sub-areas."""
    by_path = {u.path: u for u in directory.by_code.values()}

    def key(u: UnitInfo) -> tuple[tuple[int, str], ...]:
        segs = _segments(u.path)
        out = []
        for i in range(1, len(segs) + 1):
            node = by_path.get(_path(segs[:i]))
            out.append((_KIND_RANK.get(node.kind, 1) if node else 1, segs[i - 1]))
        return tuple(out)

    return sorted(units, key=key)


def unit_tree(codes: Iterable[str], directory: OrgDirectory, locale: str = "zh",
              proposed: str | None = None) -> list[UnitGroup]:
    """The units of ``codes`` (unknown codes are left out) as groups of indented choices in tree
    order; the ``proposed`` unit, when offered, moved to a first group of its own."""
    offered = [directory.by_code[c] for c in dict.fromkeys(codes) if c in directory.by_code]
    if not offered:
        return []
    paths = {u.path for u in offered}
    by_path = {u.path: u for u in directory.by_code.values()}
    # the groups hang below the units *above* the offered ones: a street offered with its
    # communities is headed by its district, a lone community by its street
    parents = [by_path.get(u.path[:u.path.rstrip("/").rfind("/") + 1]) or u for u in offered]
    root = common_root(parents)
    groups: dict[str, list[UnitChoice]] = {}
    first: UnitChoice | None = None
    for u in tree_order(offered, directory):
        segs = _segments(u.path)
        head = root
        for i in range(len(segs) - 1, 0, -1):  # the nearest strict ancestor not offered, not above the root
            ancestor = _path(segs[:i])
            if not ancestor.startswith(root):
                break
            if ancestor not in paths:
                head = ancestor
                break
        depth = sum(1 for i in range(1, len(segs)) if _path(segs[:i]) in paths and _path(segs[:i]).startswith(head))
        choice = UnitChoice(u.code, _name(u, locale), u.kind, depth, proposed=u.code == proposed,
                            context=_label(head, root, by_path, locale))
        if choice.proposed:
            first = UnitChoice(u.code, choice.name, u.kind, 0, True, choice.context)
            continue
        groups.setdefault(head, []).append(choice)
    out = [UnitGroup(None, "", (first,))] if first else []
    for head, choices in groups.items():
        unit = by_path.get(head)
        out.append(UnitGroup(unit.code if unit else None, _label(head, root, by_path, locale), tuple(choices)))
    return out


def _label(head: str, root: str, by_path: dict[str, UnitInfo], locale: str) -> str:
    """A group's heading: its unit, preceded by those between it and the root (东湖区 › 湖滨街道)."""
    segs = _segments(head)
    start = len(_segments(root)) if head == root else len(_segments(root)) + 1
    names = [_name(by_path[p], locale) for p in (_path(segs[:i]) for i in range(max(start, 1), len(segs) + 1))
             if p in by_path]
    return " › ".join(names)
