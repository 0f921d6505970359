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

from app.core.errors import AppError
from app.engine.definitions import inspect_bundle
from app.engine.xml_checks import Finding

class NotABundle(AppError):
    """A request body that is not a bundle of files (400)."""
    status = 400
    code = "not_a_bundle"


class TooLarge(AppError):
    """A file or a request over the designer's size limits (413)."""
    status = 413
    code = "too_large"


# "kpis": the KPI formulas of rules/kpis/ (app.kpis.formulas), named kpis/<key>.json in a bundle
SECTIONS = {"processes": ".bpmn", "rules": ".dmn", "forms": ".json", "kpis": ".json"}
Severity = Literal["error", "warning"]
MAX_PROBLEMS = 1000  # listed of one check (a 2 MB foreign file can have 15,000); one more says how many are left


@dataclass(frozen=True)
class Problem:
    """One problem: in which file, at which element (id, or None for the whole file).

    ``message`` is Chinese, in words a designer who is not a programmer understands;
    ``message_en`` is the same in English (the API answers ``message`` in the caller's language
    and always gives both). ``element_name`` and ``line`` locate the element beside opaque ids
    such as ``sid-34746A54-…``."""

    file: str | None
    element: str | None
    severity: Severity
    message: str
    message_en: str = ""
    element_name: str | None = None
    line: int | None = None

    def as_dict(self, lang: str = "zh") -> dict[str, object]:
        return {"file": self.file, "element": self.element, "element_name": self.element_name, "line": self.line,
                "severity": self.severity, "message": self.message_en if lang == "en" and self.message_en else self.message,
                "message_zh": self.message, "message_en": self.message_en or self.message}


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
    """Everything ``processes deploy`` checks, as problems: the same single pass
    (:func:`app.engine.definitions.inspect_bundle`) over every file, process and decision,
    errors first, then warnings, each group in file order."""
    try:
        found = inspect_bundle({k: dict(v) for k, v in bundle.items()}, process_id).findings
    except Exception as exc:  # noqa: BLE001 - the check must answer, whatever a file does to the parser
        found = [Finding("processes", "检查时发生意外错误，请把文件发给管理员",
                         f"the check failed unexpectedly: {type(exc).__name__}: {exc}")]
    found.sort(key=lambda f: f.severity != "error")  # stable: file order within each group
    problems = [Problem(f.file if f.file and f.file.partition("/")[0] in SECTIONS else None, f.element,
                        "warning" if f.severity == "warning" else "error", f.zh or f.en, f.en, f.element_name, f.line)
                for f in found[:MAX_PROBLEMS]]
    if len(found) > MAX_PROBLEMS:
        left = len(found) - MAX_PROBLEMS
        problems.append(Problem(
            None, None, "error" if any(f.severity == "error" for f in found[MAX_PROBLEMS:]) else "warning",
            f"另有 {left} 个问题未列出：请先改正上面的问题再检查", f"{left} more problems are not listed: fix the ones above "
            "and check again"))
    return CheckResult(problems)
