"""The KPI formulas in force: those of the active version of the case process (its bundle's
``kpis`` section), read once per version; the files of rules/kpis/ when no version has them."""
from __future__ import annotations

import json
import threading
from typing import Any

from app.kpis.formulas import SECTION, Formula, check_formulas

_cache: dict[int, list[Formula]] = {}
_lock = threading.Lock()


def active_formulas() -> list[Formula]:
    """The formulas of the active version of the case process (files of rules/kpis when none is deployed)."""
    from flask import current_app

    from app.engine.definitions import active_definition_id
    from app.engine.models import ProcessDefinition
    from app.core.db import session
    settings = current_app.config["SETTINGS"]
    definition_id = active_definition_id(settings.CASE_PROCESS_ID)
    if definition_id is None:
        return _from_folder(settings.RULES_DIR / "kpis")
    with _lock:
        cached = _cache.get(definition_id)
    if cached is not None:
        return cached
    definition = session.get(ProcessDefinition, definition_id)
    bundle = json.loads(definition.bundle) if definition is not None else {}
    files = bundle.get(SECTION)
    formulas = check_formulas(files)[0] if files is not None else _from_folder(settings.RULES_DIR / "kpis")
    with _lock:
        _cache[definition_id] = formulas
    return formulas


def _from_folder(folder: Any) -> list[Formula]:
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}
    return check_formulas(files)[0]
