"""Why a case counts: its stored facts with the evidence they were computed from, in words.

Shown on the case page ("考核 / Evaluation") and answered by ``GET /api/v1/cases/<id>/evaluation``,
e.g. "超期办结 · 2026-11-19 · 时限 2026-11-19 17:30 · 办结 2026-11-20 14:05".
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from app.core.db import session
from app.core.i18n import lazy_gettext as _l
from app.kpis.facts import FACTS
from app.kpis.models import CaseFact

EVIDENCE = {
    "received": _l("受理"), "deadline": _l("时限"), "finished": _l("办结"), "closed": _l("结案"),
    "extension_minutes": _l("延期（工作分钟）"), "approvals": _l("批准次数"), "parked": _l("挂账"),
    "rework_count": _l("返工次数"), "reopen_count": _l("重办次数"), "working_minutes": _l("处置用时（工作分钟）"),
    "called_back": _l("回访"), "score": _l("评分"), "signed": _l("签收"), "sign_by": _l("签收时限"),
    "merged_into": _l("并入案件"), "merged_at": _l("并入时间"), "task": _l("任务"),
}
ORDER = list(FACTS)


def case_evaluation(case_id: int, locale: str = "zh") -> list[dict[str, Any]]:
    from app.orgs.directory import directory
    paths = {u.path: u for u in directory().by_id.values()}
    rows = sorted(session.scalars(select(CaseFact).where(CaseFact.case_id == case_id)), key=lambda r: ORDER.index(r.fact)
                  if r.fact in ORDER else len(ORDER))
    out = []
    for r in rows:
        meta = FACTS.get(r.fact, {"zh": r.fact, "en": r.fact})
        why = json.loads(r.why) if r.why else {}
        unit = paths.get(r.unit_path)
        evidence = [{"key": k, "label": str(EVIDENCE.get(k, k)), "value": v} for k, v in why.items() if k != "task"]
        out.append({"fact": r.fact, "label": meta["en"] if locale == "en" else meta["zh"], "day": r.day.isoformat(),
                    "unit": unit.code if unit else None,
                    "unit_name": ((unit.name_en or unit.name) if locale == "en" else unit.name) if unit else r.unit_path,
                    "value": r.value if r.fact == "handling_minutes" else None, "evidence": evidence})
    return out
