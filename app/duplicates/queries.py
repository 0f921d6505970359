"""Reading what the detector proposed, for the API and the pages."""
from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import bindparam, select

from app.cases.models import Case
from app.core.db import session
from app.duplicates.models import DuplicateCandidate

CANDIDATES, CASES = DuplicateCandidate.__table__, Case.__table__

_CANDIDATES = (select(CANDIDATES.c.candidate_id, CANDIDATES.c.score, CANDIDATES.c.reasons, CANDIDATES.c.state,
                      CASES.c.title, CASES.c.status, CASES.c.created_at, CASES.c.channel, CASES.c.address,
                      CASES.c.merged_into_id, CASES.c.repeat_count)
               .join(CASES, CASES.c.id == CANDIDATES.c.candidate_id))


_BEST_FIRST = (CANDIDATES.c.score.desc(), CANDIDATES.c.candidate_id.desc())
_ALL_OF_CASE = _CANDIDATES.where(CANDIDATES.c.case_id == bindparam("k_case")).order_by(*_BEST_FIRST)
_OPEN_OF_CASE = _CANDIDATES.where(CANDIDATES.c.case_id == bindparam("k_case"),
                                  CANDIDATES.c.state == "open").order_by(*_BEST_FIRST)


def duplicate_candidates(case_id: int, include_decided: bool = False) -> list[dict[str, Any]]:
    """The earlier cases this one may repeat, best first; a candidate merged away names its master."""
    out = []
    for row in session.connection().execute(_ALL_OF_CASE if include_decided else _OPEN_OF_CASE, {"k_case": case_id}):
        reasons = orjson.loads(row.reasons)
        out.append({"case_id": row.candidate_id, "score": row.score, "reasons": reasons["codes"],
                    "details": reasons["details"], "state": row.state, "title": row.title, "status": row.status,
                    "channel": row.channel, "address": row.address, "created_at": row.created_at,
                    "merged_into": row.merged_into_id, "repeat_count": row.repeat_count})
    return out


def merged_cases(case_id: int) -> list[Case]:
    """The duplicates merged into this case, oldest first: their reporters are this case's too."""
    return list(session.scalars(select(Case).where(Case.merged_into_id == case_id).order_by(Case.id)))
