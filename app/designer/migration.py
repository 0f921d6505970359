"""Running cases moved to another version of the process (after a deploy).

Which versions running cases are on, and, per case of a version, whether it can move to the
target safely and why not (a dry run of :func:`app.engine.host.migrate_case`, which the engine
decides). Moving runs case by case, EACH CASE IN ITS OWN TRANSACTION (a case that fails is
rolled back alone and the others stay moved), in batches, each move audited by the engine
(``case_migrated``). Used by the API (one batch per request) and by
``flask processes migrate`` (every batch).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, text

from app.cases.models import Case
from app.core.db import session
from app.engine import host
from app.engine.models import ProcessDefinition, WorkflowInstance
from app.engine.store import prefetch_instances

BATCH = 200  # cases per API call (the CLI runs every batch)
PREFETCH = 50  # cases whose rows are read together before each is moved in its own transaction
MAX_LISTED = 500
_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit TO OFF")


@dataclass
class MoveResult:
    migrated: list[int] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # {"id", "reasons"}
    next_after: int | None = None  # all_safe: more cases after this id remain to be tried


def running_by_version(process_id: str) -> list[dict[str, Any]]:
    """Every version with its number of running (open) cases."""
    rows = session.execute(
        select(ProcessDefinition.version, ProcessDefinition.id, func.count(Case.id))
        .select_from(ProcessDefinition)
        .outerjoin(WorkflowInstance, WorkflowInstance.definition_id == ProcessDefinition.id)
        .outerjoin(Case, (Case.id == WorkflowInstance.case_id) & (Case.status == "open"))
        .where(ProcessDefinition.process_id == process_id)
        .group_by(ProcessDefinition.version, ProcessDefinition.id).order_by(ProcessDefinition.version)).all()
    return [{"version": v, "running": n} for v, _id, n in rows]


def _case_ids(definition_id: int, after: int = 0, limit: int | None = None) -> list[int]:
    q = (select(Case.id).join(WorkflowInstance, WorkflowInstance.case_id == Case.id)
         .where(WorkflowInstance.definition_id == definition_id, Case.status == "open", Case.id > after)
         .order_by(Case.id))
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q))


def _older_definitions(process_id: str, target: ProcessDefinition) -> list[int]:
    return list(session.scalars(select(ProcessDefinition.id).where(
        ProcessDefinition.process_id == process_id, ProcessDefinition.id != target.id).order_by(ProcessDefinition.version)))


def assess(case_id: int, target: ProcessDefinition, prefetched: Any = None) -> list[str]:
    """Why the case cannot move to ``target`` (empty: it can), without changing anything."""
    case = prefetched.case if prefetched is not None else session.get(Case, case_id)
    if case is None:
        return [f"案件 {case_id} 不存在 / case {case_id} does not exist"]
    try:
        plan = host.migrate_case(case, target.id, None, dry_run=True, prefetched=prefetched)
    except Exception as exc:  # noqa: BLE001 - an unreadable case is listed with why, not a 500
        return [f"无法读取案件流程：{exc} / the case's workflow cannot be read: {type(exc).__name__}: {exc}"]
    return list(plan.reasons)


def assess_version(source: ProcessDefinition, target: ProcessDefinition, offset: int = 0,
                   limit: int = 100) -> dict[str, Any]:
    """The running cases of ``source``, a page of them with whether each can move to ``target``."""
    ids = _case_ids(source.id)
    page = ids[offset:offset + limit]
    cases = []
    prefetched: dict[int, Any] = {}
    for n, case_id in enumerate(page):
        if n % PREFETCH == 0:
            prefetched = prefetch_instances(page[n:n + PREFETCH])
        reasons = assess(case_id, target, prefetched.get(case_id))
        cases.append({"id": case_id, "safe": not reasons, "reasons": reasons})
    return {"from": source.version, "to": target.version, "running": len(ids), "offset": offset,
            "cases": cases, "safe": sum(1 for c in cases if c["safe"]),
            "next_offset": offset + limit if offset + limit < len(ids) else None}


def _actor(principal: Any) -> Any:
    """The actor as plain values: it outlives the per-case commits and rollbacks."""
    if principal is None:
        return None
    user = getattr(principal, "user", principal)
    return SimpleNamespace(id=user.id, username=user.username)


def move(target: ProcessDefinition, case_ids: Iterable[int], actor: Any,
         on_case: Callable[[int, list[str]], None] | None = None) -> MoveResult:
    """Move each case in its own transaction (commit after each, rollback of a failed one only).
    The rows of PREFETCH cases are read together first: each case's transaction then locks its
    row and reads its task clocks in one statement, and writes (a round trip per statement is
    what a move costs on PostgreSQL)."""
    result = MoveResult()
    actor = _actor(actor)
    target_id = target.id
    ids = list(case_ids)
    # PostgreSQL: a move's commit does not wait for its WAL flush (most of what a move costs).
    # A crash can lose the last moves of the last fraction of a second, never half of one: the
    # case's rows and its case_migrated event are one transaction, lost or kept together, and the
    # case is then simply still on its old version (running the migration again moves it).
    no_flush_wait = session.get_bind().dialect.name == "postgresql"
    prefetched: dict[int, Any] = {}
    for n, case_id in enumerate(ids):
        reasons: list[str]
        try:
            if n % PREFETCH == 0:
                prefetched = prefetch_instances(ids[n:n + PREFETCH])
            if no_flush_wait:
                session.execute(_NO_FLUSH_WAIT)
            entry = prefetched.get(case_id)
            case = entry.case if entry is not None else session.get(Case, case_id)
            if case is None:
                reasons = [f"案件 {case_id} 不存在 / case {case_id} does not exist"]
            else:
                reasons = list(host.migrate_case(case, target_id, actor, prefetched=entry).reasons)
        except host.CaseConflict as exc:
            reasons = [str(exc)]
        except Exception as exc:  # noqa: BLE001 - one case failing never stops the others
            reasons = [f"迁移失败：{exc} / the move failed: {type(exc).__name__}: {exc}"]
        if reasons:
            session.rollback()
            result.refused.append({"id": case_id, "reasons": reasons})
        else:
            session.commit()
            result.migrated.append(case_id)
        if on_case is not None:
            on_case(case_id, reasons)
    return result


def move_all_safe(process_id: str, target: ProcessDefinition, actor: Any, after: int = 0, batch: int | None = BATCH,
                  from_definition: ProcessDefinition | None = None,
                  on_case: Callable[[int, list[str]], None] | None = None) -> MoveResult:
    """Move every running case of the older versions (or of ``from_definition``) that can move,
    ``batch`` cases at a time after case id ``after``; the unsafe ones stay, listed with why."""
    sources = [from_definition.id] if from_definition is not None else _older_definitions(process_id, target)
    ids = sorted(i for d in sources for i in _case_ids(d, after, batch))
    if batch is not None:
        ids = ids[:batch]
    result = move(target, ids, actor, on_case)
    if batch is not None and ids and len(ids) == batch:
        result.next_after = ids[-1]
    return result
