"""The authoritative check of a bundle, as a list of problems a designer can act on.

A bundle is ``{"processes": {name: text}, "rules": {...}, "forms": {...}}`` (as
:func:`app.engine.definitions.read_bundle` reads it); a file is named by its place in it,
``processes/seven_step_loop.bpmn``. :func:`check_bundle` never raises for a bad bundle: every
problem, of every file, comes back in one pass.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from app.engine.definitions import BundleError, parse_bundle

SECTIONS = {"processes": ".bpmn", "rules": ".dmn", "forms": ".json"}
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem: in which file, at which element (id, or None for the whole file)."""

    file: str | None
    element: str | None
    severity: Severity
    message: str


@dataclass
class CheckResult:
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def bundle_with(base: Mapping[str, Mapping[str, str]], files: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``base`` with ``files`` (``{"processes/x.bpmn": text}``) put in their places; a name that is
    not ``<section>/<file><suffix>`` of a known section raises ``ValueError`` naming it."""
    bundle = {section: dict(base.get(section, {})) for section in SECTIONS}
    for name, text in files.items():
        section, _sep, filename = name.partition("/")
        if section not in SECTIONS or not filename or "/" in filename or not filename.endswith(SECTIONS[section]):
            raise ValueError(name)
        bundle[section][filename] = text
    return bundle


def check_bundle(bundle: Mapping[str, Mapping[str, str]], process_id: str) -> CheckResult:
    """Everything ``processes deploy`` checks, as problems."""
    result = CheckResult()
    try:
        parse_bundle({k: dict(v) for k, v in bundle.items()}, process_id)
    except BundleError as exc:
        for where, messages in exc.errors.items():
            file = where if where.partition("/")[0] in SECTIONS and "/" in where else None
            result.problems.extend(Problem(file, None, "error", m) for m in messages)
    return result
