"""The one reader of the designer API's file bodies: multipart ``file`` parts, each named by its
place in the bundle (``processes/seven_step_loop.bpmn``), or JSON ``{"files": {name: text}}``.

``POST /processes/validate`` and the drafts API (``POST /processes/drafts``, ``PUT
/processes/drafts/<id>``) read their bodies with :func:`read_upload`. What is not a bundle at all
(no ``file`` part, a JSON body without ``files``) is a 400; a file or request over the limits a
413; a body of the right shape with bad parts (no name, a name twice, a content that is not text,
too many files) raises ``invalid``: the validate call keeps its documented 400, the drafts API its
422 with field errors. A file that is not UTF-8 text is not an error of the request: it is listed
in ``unreadable`` (a problem of that file), its place taken by an empty text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from app.core.errors import AppError
from app.core.ids import MAX_ID
from app.designer.checks import NotABundle, TooLarge
from app.engine.definitions import MAX_FILE_BYTES, BundleError, decode_file

MAX_FILES = 100  # files of one body (the shipped bundle has 14)
MAX_NAME = 300
NAME_RULE = ("须为 processes/<名称>.bpmn、rules/<名称>.dmn 或 forms/<名称>.json / must be processes/<name>.bpmn, "
             "rules/<name>.dmn or forms/<name>.json")


@dataclass
class Upload:
    files: dict[str, str]
    unreadable: list[Any] = field(default_factory=list)  # app.engine.xml_checks.Finding of files that are not text
    revision: int | None = None  # the revision the client loaded (drafts: PUT)


def read_upload(max_request_bytes: int, invalid: type[AppError] = NotABundle) -> Upload:
    """The files of the request body (see the module's text)."""
    if (request.content_length or 0) > max_request_bytes:
        raise TooLarge(f"请求超过 {max_request_bytes // (1024 * 1024)} MB / the request is larger than "
                       f"{max_request_bytes // (1024 * 1024)} MB")
    try:
        return _read(invalid)
    except RequestEntityTooLarge:
        raise TooLarge("请求过大 / the request is too large") from None


def _read(invalid: type[AppError]) -> Upload:
    upload = Upload(files={})

    def add(name: Any, data: bytes | str, key: str) -> None:
        if not isinstance(name, str) or not name:
            raise invalid("每个文件都要有名称 / every file needs a name", errors={key: [NAME_RULE]})
        if len(name) > MAX_NAME:
            raise invalid("文件名过长 / a file name is too long", errors={key[:MAX_NAME]: [f"at most {MAX_NAME} characters"]})
        if name in upload.files:
            raise invalid("同一文件出现两次 / the same file is given twice", errors={key: ["given twice"]})
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if len(raw) > MAX_FILE_BYTES:
            raise TooLarge(f"文件 {name} 超过 {MAX_FILE_BYTES // 1024} KB / the file is larger than "
                           f"{MAX_FILE_BYTES // 1024} KB", errors={key: [f"larger than {MAX_FILE_BYTES // 1024} KB"]})
        if isinstance(data, str):
            upload.files[name] = data
            return
        try:
            upload.files[name] = decode_file(raw, name)
        except BundleError as exc:
            upload.unreadable.extend(exc.findings)
            upload.files[name] = ""  # its place is taken (the deployed file is not checked instead)

    if request.mimetype == "multipart/form-data":
        parts = request.files.getlist("file")
        if not parts:
            raise NotABundle("没有文件：请以 file 字段上传 / no file: send parts named 'file'", errors={"file": ["required"]})
        if len(parts) > MAX_FILES:
            raise invalid(f"文件过多（最多 {MAX_FILES} 个）/ too many files", errors={"file": [f"at most {MAX_FILES}"]})
        for part in parts:
            add(part.filename, part.stream.read(MAX_FILE_BYTES + 1), f"files.{part.filename or ''}" if part.filename else "file")
        revision = request.form.get("revision", "")
        if revision:
            upload.revision = _revision(int(revision) if revision.isdigit() and len(revision) < 10 else None, invalid)
        return upload
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or "files" not in payload:
        raise NotABundle('请求体须为 multipart 的 file 部分或 JSON {"files": {"<名称>": "<内容>"}} / the body must be '
                         'multipart \'file\' parts or JSON {"files": {"<name>": "<content>"}}',
                         errors={"files": ["expected an object of file names to contents"]})
    given = payload["files"]
    if not isinstance(given, dict) or not given:
        raise invalid("没有文件 / no files", errors={"files": ["至少需要一个文件：文件名 → 内容 / an object of at least one "
                                                         "file name to its content"]})
    if len(given) > MAX_FILES:
        raise invalid(f"文件过多（最多 {MAX_FILES} 个）/ too many files", errors={"files": [f"at most {MAX_FILES}"]})
    for name, text in given.items():
        if not isinstance(text, str):
            raise invalid("文件内容须为文本 / a file's content must be a string",
                          errors={f"files.{name}"[:MAX_NAME]: ["文件内容须为文本 / expected a string"]})
        add(name, text, f"files.{name}"[:MAX_NAME])
    if "revision" in payload:
        upload.revision = _revision(payload["revision"], invalid)
    return upload


def _revision(value: Any, invalid: type[AppError]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise invalid("invalid revision", errors={"revision": [f"须为 1 到 {MAX_ID} 之间的保存次数 / must be a "
                                                              f"revision from 1 to {MAX_ID}"]})
    return value
