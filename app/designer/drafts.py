"""Drafts of the process bundle: saved, reviewed (four eyes), deployed; versions activated.

A draft holds the files one designer changed over the deployed (active) version it started from;
each designer has at most one open draft per bundle. Every save runs the authoritative check
(:func:`app.designer.checks.check_bundle`) and stores its problems; approving and deploying use
them. With ``DESIGNER_REVIEW_REQUIRED`` a draft is deployed only once another person with the
``designer`` or ``admin`` role approved exactly its last saved revision. Every save, approval,
deploy and activation is audited. Operations flush; the request commits.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core.audit import record
from app.core.db import session, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.designer.checks import SECTIONS, CheckResult, TooLarge, bundle_with, check_bundle
from app.designer.models import ProcessDraft
from app.engine.definitions import MAX_FILE_BYTES, BundleError, activate, active_definition_id, deploy
from app.engine.models import ProcessDefinition
from app.orgs.models import User

DESIGNER_ROLES = ("designer", "admin")
MAX_FILES = 100  # files in one save
MAX_TOTAL_BYTES = 8 * MAX_FILE_BYTES


def require_designer(principal: Any) -> None:
    if not principal.has_role(*DESIGNER_ROLES):
        raise Forbidden("只有流程设计员或管理员可以操作流程 / only designers and administrators may change processes")


def process_id() -> str:
    return str(current_app.config["SETTINGS"].CASE_PROCESS_ID)


def review_required() -> bool:
    return bool(current_app.config["SETTINGS"].designer_review_required)


def bundle_of(definition: ProcessDefinition) -> dict[str, dict[str, str]]:
    return json.loads(definition.bundle)  # type: ignore[no-any-return]


def active_definition() -> ProcessDefinition:
    found = active_definition_id(process_id())
    definition = session.get(ProcessDefinition, found) if found is not None else None
    if definition is None:
        raise Conflict("尚未部署任何流程版本 / no version of the process is deployed yet")
    return definition


def definition_by_version(version: int) -> ProcessDefinition:
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id(),
                                                                ProcessDefinition.version == version))
    if definition is None:
        raise NotFound(f"流程版本 {version} 不存在 / version {version} does not exist")
    return definition


def check_files(files: dict[str, str]) -> None:
    """The files of a save, before anything is parsed: names of the bundle, bounded sizes."""
    if not files:
        raise ValidationFailed("no files", errors={"files": ["至少需要一个文件 / give at least one file"]})
    if len(files) > MAX_FILES:
        raise ValidationFailed("too many files", errors={"files": [f"最多 {MAX_FILES} 个文件 / at most {MAX_FILES} files"]})
    errors: dict[str, list[str]] = {}
    total = 0
    for name, text in files.items():
        if not isinstance(text, str):
            errors[f"files.{name}"] = ["文件内容须为文本 / the content must be text"]
            continue
        size = len(text.encode("utf-8"))
        total += size
        if size > MAX_FILE_BYTES:
            raise TooLarge(f"文件 {name} 超过 {MAX_FILE_BYTES // 1024} KB / file {name} is larger than "
                           f"{MAX_FILE_BYTES // 1024} KB")
        try:
            bundle_with({}, {name: ""})
        except ValueError:
            errors[f"files.{name}"] = ["不是流程包中的文件名（如 processes/x.bpmn、rules/x.dmn、forms/x.json） / not a name "
                                       "of the bundle, e.g. processes/x.bpmn, rules/x.dmn, forms/x.json"]
    if total > MAX_TOTAL_BYTES:
        raise TooLarge(f"文件合计超过 {MAX_TOTAL_BYTES // 1024} KB / the files are larger than {MAX_TOTAL_BYTES // 1024} KB together")
    if errors:
        raise ValidationFailed("invalid files", errors=errors)


def _changed(base: dict[str, dict[str, str]], files: dict[str, str]) -> dict[str, str]:
    """``files`` without those equal to the base's (saving a file back as it was drops the change)."""
    out = {}
    for name, text in files.items():
        section, _sep, filename = name.partition("/")
        if base.get(section, {}).get(filename) != text:
            out[name] = text
    return out


def draft_bundle(draft: ProcessDraft) -> dict[str, dict[str, str]]:
    base = session.get(ProcessDefinition, draft.base_definition_id)
    assert base is not None
    return bundle_with(bundle_of(base), json.loads(draft.files))


def _check(draft: ProcessDraft) -> CheckResult:
    result = check_bundle(draft_bundle(draft), draft.process_id)
    draft.ok = result.ok
    draft.problems = json.dumps([asdict(p) for p in result.problems], ensure_ascii=False)
    return result


def get_draft(draft_id: int) -> ProcessDraft:
    draft = session.get(ProcessDraft, draft_id)
    if draft is None or draft.process_id != process_id():
        raise NotFound(f"草稿 {draft_id} 不存在 / draft {draft_id} not found")
    return draft


def open_draft_of(user_id: int) -> ProcessDraft | None:
    return session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id(),
                                                     ProcessDraft.owner_id == user_id, ProcessDraft.state == "open"))


def open_drafts() -> list[ProcessDraft]:
    return list(session.scalars(select(ProcessDraft).where(ProcessDraft.process_id == process_id(),
                                                           ProcessDraft.state == "open").order_by(ProcessDraft.id)))


def create_draft(principal: Any, files: dict[str, str]) -> ProcessDraft:
    """A new draft of the principal's over the active version (409 if they have one open)."""
    require_designer(principal)
    check_files(files)
    mine = open_draft_of(principal.id)
    if mine is not None:
        raise Conflict(f"你已有此流程包的草稿 {mine.id}，请继续编辑它 / you have draft {mine.id} of this bundle open "
                       "already; go on editing it", draft=mine.id)
    base = active_definition()
    now = utcnow()
    draft = ProcessDraft(process_id=process_id(), owner_id=principal.id, base_definition_id=base.id,
                         files=json.dumps(_changed(bundle_of(base), files), ensure_ascii=False), revision=1,
                         state="open", created_at=now, updated_at=now)
    _check(draft)
    session.add(draft)
    session.flush()
    record("process_draft_saved", actor=principal.user, at=now, draft_id=draft.id, revision=1,
           base_version=base.version, files=sorted(json.loads(draft.files)), ok=draft.ok)
    return draft


def _open(draft: ProcessDraft) -> None:
    if draft.state != "open":
        raise Conflict(f"草稿 {draft.id} 已{ '部署' if draft.state == 'deployed' else '放弃'} / draft {draft.id} is "
                       f"{draft.state}")


def _owned(principal: Any, draft: ProcessDraft) -> None:
    if draft.owner_id != principal.id:
        owner = session.get(User, draft.owner_id)
        name = owner.display_name if owner is not None else "?"
        raise Conflict(f"此草稿正由 {name} 编辑，只有其本人可以保存 / {name} is editing this draft; only they can save it",
                       editing_by=owner.username if owner is not None else None)


def save_draft(principal: Any, draft: ProcessDraft, files: dict[str, str], revision: int | None = None) -> ProcessDraft:
    """Save files into the owner's draft (the given files replace the draft's of the same name),
    over the version active now; a revision other than ``revision`` (if given) is a conflict."""
    require_designer(principal)
    _open(draft)
    _owned(principal, draft)
    check_files(files)
    if revision is not None and revision != draft.revision:
        raise Conflict(f"草稿已在别处保存为第 {draft.revision} 版，请重新打开 / the draft was saved meanwhile (revision "
                       f"{draft.revision}); open it again", revision=draft.revision)
    base = active_definition()
    merged = {**json.loads(draft.files), **files}
    draft.files = json.dumps(_changed(bundle_of(base), merged), ensure_ascii=False)
    draft.base_definition_id = base.id
    draft.revision += 1
    draft.updated_at = utcnow()
    draft.approved_by_id = draft.approved_at = draft.approved_revision = None  # an approval is of one revision
    _check(draft)
    session.flush()
    record("process_draft_saved", actor=principal.user, at=draft.updated_at, draft_id=draft.id,
           revision=draft.revision, base_version=base.version, files=sorted(files), ok=draft.ok)
    return draft


def discard_draft(principal: Any, draft: ProcessDraft) -> None:
    require_designer(principal)
    _open(draft)
    _owned(principal, draft)
    draft.state = "discarded"
    draft.updated_at = utcnow()
    session.flush()
    record("process_draft_discarded", actor=principal.user, draft_id=draft.id, revision=draft.revision)


def approve_draft(principal: Any, draft: ProcessDraft) -> ProcessDraft:
    """The second pair of eyes: another designer or admin approves the draft's last revision."""
    require_designer(principal)
    _open(draft)
    if review_required() and draft.owner_id == principal.id:
        raise Forbidden("不能审批自己的草稿，请另一位设计员或管理员审批 / you cannot approve your own draft; another "
                        "designer or administrator must")
    if not draft.ok:
        raise Conflict("草稿有错误，不能审批 / the draft has errors; it cannot be approved", problems=json.loads(draft.problems))
    draft.approved_by_id, draft.approved_at, draft.approved_revision = principal.id, utcnow(), draft.revision
    session.flush()
    record("process_draft_approved", actor=principal.user, at=draft.approved_at, draft_id=draft.id,
           revision=draft.revision, owner_id=draft.owner_id)
    return draft


def deploy_draft(principal: Any, draft: ProcessDraft) -> ProcessDefinition:
    """Deploy the draft as a new version, which becomes the active one (409 while an approval it
    needs is missing, it has errors, or another version was deployed since it was saved)."""
    require_designer(principal)
    _open(draft)
    if not draft.ok:
        raise Conflict("草稿有错误，不能部署 / the draft has errors; it cannot be deployed",
                       problems=json.loads(draft.problems))
    if review_required() and draft.approved_revision != draft.revision:
        raise Conflict("草稿须经另一位设计员或管理员审批后才能部署 / the draft must be approved by another designer or "
                       "administrator before it is deployed", review_required=True)
    active = active_definition()
    if active.id != draft.base_definition_id:
        raise Conflict(f"草稿保存后已启用版本 {active.version}，请重新保存草稿并检查 / version {active.version} became active "
                       "since the draft was saved; save the draft again and check it", active_version=active.version)
    try:
        definition, created = deploy(draft_bundle(draft), draft.process_id, actor=principal.username)
    except BundleError as exc:
        raise Conflict("流程包检查未通过 / the bundle does not pass the checks", errors=exc.errors) from None
    if not created:
        activate(definition, principal.username)
    now = utcnow()
    draft.state, draft.deployed_definition_id, draft.deployed_at, draft.updated_at = "deployed", definition.id, now, now
    session.flush()
    approver = session.get(User, draft.approved_by_id) if draft.approved_by_id else None
    record("process_deployed", actor=principal.user, at=now, draft_id=draft.id, revision=draft.revision,
           version=definition.version, from_version=active.version, new=created,
           approved_by=approver.username if approver is not None else None, files=sorted(json.loads(draft.files)))
    return definition


def activate_version(principal: Any, version: int) -> tuple[ProcessDefinition, ProcessDefinition]:
    """Make an earlier (rollback) or later version the one new cases start on; (before, now)."""
    require_designer(principal)
    definition = definition_by_version(version)
    before = active_definition()
    if before.id != definition.id:
        activate(definition, principal.username)
        record("process_activated", actor=principal.user, version=definition.version, from_version=before.version)
    return before, definition


def draft_dict(draft: ProcessDraft, viewer: Any) -> dict[str, Any]:
    """A draft as the modeler loads it: its changed files, the bundle's file names, who edits it."""
    owner = session.get(User, draft.owner_id)
    approver = session.get(User, draft.approved_by_id) if draft.approved_by_id else None
    base = session.get(ProcessDefinition, draft.base_definition_id)
    changed = json.loads(draft.files)
    bundle = draft_bundle(draft)
    body: dict[str, Any] = {
        "id": draft.id, "state": draft.state, "revision": draft.revision, "ok": draft.ok,
        "problems": json.loads(draft.problems), "owner": owner.username if owner else None,
        "owner_name": owner.display_name if owner else None, "base_version": base.version if base else None,
        "created_at": draft.created_at.isoformat(), "updated_at": draft.updated_at.isoformat(),
        "approved_by": approver.username if approver else None,
        "approved": draft.approved_revision is not None and draft.approved_revision == draft.revision,
        "review_required": review_required(), "changed": sorted(changed),
        "bundle": sorted(f"{section}/{name}" for section in SECTIONS for name in bundle.get(section, {})),
        "files": changed, "yours": draft.owner_id == viewer.id,
    }
    if draft.deployed_definition_id:
        deployed = session.get(ProcessDefinition, draft.deployed_definition_id)
        body["deployed_version"] = deployed.version if deployed else None
    if draft.state == "open" and draft.owner_id != viewer.id:
        body["notice"] = (f"此草稿正由 {body['owner_name']} 编辑（最近保存于 {draft.updated_at:%Y-%m-%d %H:%M} UTC），"
                          f"你只能查看和审批 / {body['owner_name']} is editing this draft (last saved "
                          f"{draft.updated_at:%Y-%m-%d %H:%M} UTC); you can view and approve it, not save it")
    return body


def draft_file(draft: ProcessDraft, name: str) -> str:
    section, _sep, filename = name.partition("/")
    text = draft_bundle(draft).get(section, {}).get(filename) if section in SECTIONS else None
    if text is None:
        raise NotFound(f"草稿中没有文件 {name} / the draft has no file {name}")
    return text
