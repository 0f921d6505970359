"""Import a BPMN or DMN file drawn elsewhere (Camunda Modeler, Signavio, Trisotech, …) into the
importing designer's draft, as a new process or decision or in place of one of the bundle.

The file is untrusted: at most ``MAX_FILE_BYTES``, UTF-8, well-formed XML without DOCTYPE or entity
declarations (:func:`app.engine.definitions.parse_xml_safely`, the parser every check uses); its
root must be a BPMN or DMN ``definitions``. Nothing else is refused: what the file lacks to run
here (lanes without roles, tasks without forms, FEEL or ``${…}`` expressions, unsupported
elements) is what the draft's check (the drafts API's, :func:`app.designer.drafts.save_draft`)
lists element by element, and the modeler marks on the diagram. The file is stored as it came,
so everything of it (diagram, names, flows) is kept; nothing in it is run.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from app.core.audit import record
from app.core.errors import ValidationFailed
from app.designer import drafts as ops
from app.designer.checks import SECTIONS, TooLarge
from app.engine.definitions import MAX_FILE_BYTES, BundleError, decode_file, parse_xml_safely
from app.engine.models import ProcessDefinition
from app.engine.xml_checks import BPMN_NS, DMN_NAMESPACES, local, ns

NEW = "new"
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


class ImportRefused(ValidationFailed):
    """A file that cannot be opened at all (not UTF-8, not XML, DOCTYPE, not BPMN or DMN, a target
    of the other kind): 422 with the reason under ``file`` (``zh`` and ``en`` for the pages)."""

    def __init__(self, zh: str, en: str, field: str = "file") -> None:
        super().__init__(f"{zh} / {en}", errors={field: [f"{zh} / {en}"]})
        self.zh, self.en = zh, en


@dataclass
class Imported:
    draft: Any
    path: str  # its place in the bundle, e.g. processes/invoice.bpmn
    replaced: bool
    problems: int  # the draft's problems in this file


def section_of(text: str, filename: str) -> str:
    """``processes`` for a BPMN file, ``rules`` for a DMN file; refused otherwise."""
    try:
        root = parse_xml_safely(text, filename)
    except BundleError as exc:
        finding = exc.findings[0]
        raise ImportRefused(finding.zh, finding.en) from None
    if local(root.tag) == "definitions" and ns(root.tag) == BPMN_NS:
        return "processes"
    if local(root.tag) == "definitions" and ns(root.tag) in DMN_NAMESPACES:
        return "rules"
    raise ImportRefused("不是 BPMN 2.0 或 DMN 文件（根元素须为 definitions）",
                  "not a BPMN 2.0 or DMN file (its root must be definitions)")


def _new_name(filename: str, section: str, taken: set[str], wanted: str = "") -> str:
    stem = _SAFE.sub("_", wanted or PurePosixPath(filename.replace("\\", "/")).stem).strip("_-")[:60] or "imported"
    name, n = f"{section}/{stem}{SECTIONS[section]}", 2
    while name in taken:
        name, n = f"{section}/{stem}_{n}{SECTIONS[section]}", n + 1
    return name


def import_file(principal: Any, filename: str, data: bytes, target: str = NEW, name: str = "") -> Imported:
    """Put the uploaded file into the principal's draft (made if they have none): at ``target`` (a
    file of the bundle of the same kind), or as a new file named ``name`` (or after the upload)."""
    ops.require_designer(principal)
    if len(data) > MAX_FILE_BYTES:
        raise TooLarge(f"文件超过 {MAX_FILE_BYTES // 1024} KB / the file is larger than {MAX_FILE_BYTES // 1024} KB",
                       errors={"file": [f"larger than {MAX_FILE_BYTES // 1024} KB"]})
    try:
        text = decode_file(data, filename or "file")
    except BundleError as exc:
        finding = exc.findings[0]
        raise ImportRefused(finding.zh, finding.en) from None
    section = section_of(text, filename or "file")
    mine = ops.open_draft_of(principal.id)
    base: ProcessDefinition = ops.active_definition()
    bundle = ops.draft_bundle(mine) if mine is not None else ops.bundle_of(base)
    taken = {f"{s}/{n}" for s, files in bundle.items() for n in files}
    if target == NEW:
        path = _new_name(filename or "", section, taken, name)
    elif target in taken:
        if target.partition("/")[0] != section:
            raise ImportRefused(f"这是{'流程 (BPMN)' if section == 'processes' else '决策 (DMN)'}文件，不能替换 {target}",
                          f"this is a {'BPMN process' if section == 'processes' else 'DMN decision'} file; it cannot "
                          f"replace {target}")
        path = target
    else:
        raise ImportRefused(f"{target[:200]} 不在流程包中", f"{target[:200]} is not in the bundle", "target")
    draft = ops.save_draft(principal, mine, {path: text}) if mine is not None else ops.create_draft(principal, {path: text})
    problems = sum(1 for p in json.loads(draft.problems) if p.get("file") == path)
    record("process_file_imported", actor=principal.user, draft_id=draft.id, revision=draft.revision, file=path,
           uploaded_as=(filename or "")[:200], replaced=target != NEW, bytes=len(data), problems=problems)
    return Imported(draft=draft, path=path, replaced=target != NEW, problems=problems)
