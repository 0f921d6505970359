"""Reading what the detector proposed, for the API and the pages."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from app.cases.models import Case
from app.core.db import session
from app.duplicates.models import DuplicateCandidate

CANDIDATES, CASES = DuplicateCandidate.__table__, Case.__table__

_CANDIDATES = (select(CANDIDATES.c.candidate_id, CANDIDATES.c.score, CANDIDATES.c.reasons, CANDIDATES.c.state,
                      CASES.c.title, CASES.c.status, CASES.c.created_at, CASES.c.channel, CASES.c.address,
                      CASES.c.merged_into_id, CASES.c.repeat_count)
               .join(CASES, CASES.c.id == CANDIDATES.c.candidate_id))


def duplicate_candidates(case_id: int, include_decided: bool = False) -> list[dict[str, Any]]:
    """The earlier cases this one may repeat, best first; a candidate merged away names its master."""
    statement = _CANDIDATES.where(CANDIDATES.c.case_id == case_id)
    if not include_decided:
        statement = statement.where(CANDIDATES.c.state == "open")
    out = []
    for row in session.connection().execute(statement.order_by(CANDIDATES.c.score.desc(), CANDIDATES.c.candidate_id.desc())):
        reasons = json.loads(row.reasons)
        out.append({"case_id": row.candidate_id, "score": row.score, "reasons": reasons["codes"],
                    "details": reasons["details"], "state": row.state, "title": row.title, "status": row.status,
                    "channel": row.channel, "address": row.address, "created_at": row.created_at,
                    "merged_into": row.merged_into_id, "repeat_count": row.repeat_count})
    return out


def merged_cases(case_id: int) -> list[Case]:
    """The duplicates merged into this case, oldest first: their reporters are this case's too."""
    return list(session.scalars(select(Case).where(Case.merged_into_id == case_id).order_by(Case.id)))
