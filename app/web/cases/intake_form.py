"""The operator's intake form: the standard work-order fields of ``forms/case_intake.json``,
the channel's extension form, uploads; shared with the grid worker's report (``app.web.report``)."""
from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, flash, request
from werkzeug.datastructures import FileStorage, MultiDict

from app.attachments.operations import add_attachment
from app.cases.channels import channel_form, validate_extension
from app.cases.models import Case
from app.core.auth import Principal
from app.core.db import session as db
from app.core.i18n import get_locale, gettext as _
from app.duplicates.queries import duplicate_candidates
from app.engine import host
from app.forms.schema import coerce_form, field_order, initial_values, resolve
from app.web.forms import FieldView, form_fields, html_values, posted_values
from app.web.labels import label
from app.web.queries import communities



INTAKE_FORM = "case_intake.json"
_IDEM = re.compile(r"^[0-9a-f]{32}$")
_intake_cache: dict[str, Any] = {}


#: extension fields are posted as ``ext.<name>``: a channel's field may share a standard field's name
EXT = "ext."
#: the channels an operator enters by hand, in the picker's order (accesskeys 1, 2, ...). Open311
#: and the systems behind the API deliver their cases themselves.
OPERATOR_CHANNELS = ("hotline", "police110", "mailbox", "wechat", "weibo", "city_mgmt", "grid")
DEFAULT_CHANNEL = "hotline"
FILES_FIELD = "files"


def _intake_file() -> dict[str, Any]:
    """``forms/case_intake.json``, re-read when the file changes."""
    path = Path(current_app.config["SETTINGS"].FORMS_DIR) / INTAKE_FORM
    mtime = path.stat().st_mtime
    if _intake_cache.get("mtime") != mtime:
        _intake_cache.update(mtime=mtime, schema=json.loads(path.read_text(encoding="utf-8")))
    return _intake_cache["schema"]  # type: ignore[no-any-return]


def standard_schema() -> dict[str, Any]:
    """The standard work-order fields of ``case_intake.json``; the channel is picked apart from them."""
    schema = copy.deepcopy(_intake_file())
    schema["properties"].pop("channel", None)
    schema["required"] = [f for f in schema.get("required", []) if f != "channel"]
    schema["x-order"] = [f for f in schema.get("x-order", []) if f != "channel"]
    return schema


def intake_schema() -> dict[str, Any]:
    """The standard work-order fields plus the community (grid) the problem is in."""
    schema = standard_schema()
    units = communities()
    schema["properties"]["grid_unit"] = {
        "type": "string", "title": "所在网格", "x-title-en": "Grid (community)",
        "enum": [u.code for u in units], "x-enum-titles": [u.name for u in units],
        "x-enum-titles-en": [u.name_en or u.name for u in units],
        "description": "问题所在的社区。不选时按经纬度匹配最近的社区。",
        "x-description-en": "The community where the problem is; without one, the nearest to the coordinates is used.",
    }
    order = list(schema.get("x-order") or schema["properties"])
    if "grid_unit" not in order:
        order.insert(order.index("address") + 1 if "address" in order else len(order), "grid_unit")
    schema["x-order"] = order
    return schema


def extension_schema(channel: str) -> dict[str, Any]:
    """The channel's extension form with its fields named ``ext.<name>`` (for the form renderer)."""
    form = resolve(channel_form(channel), get_locale())
    props = form.get("properties", {})
    return {**form, "properties": {EXT + name: prop for name, prop in props.items()},
            "x-order": [EXT + name for name in field_order(form)],
            "required": [EXT + name for name in form.get("required", [])]}


def extension_title(channel: str) -> str:
    form = channel_form(channel)
    return str((get_locale() == "en" and form.get("x-title-en")) or form.get("title") or label("channel", channel))


def extension_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """``extension.<field>`` errors (of the back end) under the page's input names ``ext.<field>``."""
    return {EXT + name[len("extension."):] if name.startswith("extension.") else name: messages
            for name, messages in errors.items()}


def posted_extension(channel: str, form: Any, locale: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The channel's extension fields from a post, typed, and their errors under the inputs' names.

    Only the current channel's fields are read: those of a channel picked before are ignored."""
    sub = MultiDict([(k[len(EXT):], v) for k, v in form.items(multi=True) if k.startswith(EXT)])
    data, coerce_errors = coerce_form(channel_form(channel), sub, locale)
    errors = extension_errors(validate_extension(channel, data, locale))
    errors.update({EXT + name: messages for name, messages in coerce_errors.items()})
    return data, errors


def uploaded_files(name: str) -> list[FileStorage]:
    """The files chosen in a file input (an empty input posts one nameless part: skipped)."""
    return [f for f in request.files.getlist(name) if f and f.filename]


def attach_uploads(case: Case, uploads: list[FileStorage], principal: Principal, source: str, field_name: str) -> int:
    """Store the uploads with the case (raises ValidationFailed under ``field_name``: roll back)."""
    for upload in uploads:
        add_attachment(case, upload.stream, upload.filename, principal.user, source=source, field=field_name)
    return len(uploads)


def upload_limits() -> dict[str, int]:
    """What the browser may check before sending: bytes per file and per request."""
    return {"file": int(current_app.config["SETTINGS"].ATTACHMENT_MAX_BYTES),
            "request": int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)}


def case_payload(data: dict[str, Any], channel: str, extension: dict[str, Any]) -> dict[str, Any]:
    """``create_case``'s input from the typed standard fields and the extension."""
    return {
        "channel": channel, "title": data["title"], "description": data["description"],
        "address": data["address"], "lat": data.get("lat"), "lng": data.get("lng"),
        "category_code": data.get("category_code"), "urgency": data.get("urgency") or "normal",
        "grid_unit": data.get("grid_unit"),
        "reporter": {"name": data.get("reporter_name"), "phone": data.get("reporter_phone")},
        "extension": extension,
    }


def flash_created(case: Case, created: bool, started: host.Started | None, attached: int, what: str) -> None:
    """Tell what happened to a new case: filed, merged at once with an exact repeat, or with candidates."""
    if not created:
        flash(_("该工单已登记过：{number}", number=case.number), "info")
        return
    flash(what.format(number=case.number), "success")
    if attached:
        flash(_("已上传 {n} 个附件", n=attached), "success")
    if case.has_incident:
        flash(_("工单已保存，但流程启动出错，正在等待管理员处理（流程异常）。"), "warning")
    if started is not None and started.merged_into is not None:
        master = db.get(Case, started.merged_into)
        flash(_("与 {master} 内容相同、为同一反映人：已自动合并至该案件，重复反映次数已累加",
                master=master.number if master else "#" + str(started.merged_into)), "warning")
        return
    found = len(duplicate_candidates(case.id))
    if found:
        flash(_("发现 {n} 个可能重复的案件，请派遣员在案件页核对", n=found), "warning")


def form_token(value: str | None) -> str:
    """The form's one-time token (sent twice, it files one case), or a fresh one."""
    return value if value and _IDEM.match(value) else uuid.uuid4().hex


def channel_arg(value: str | None) -> str:
    return value if value in OPERATOR_CHANNELS else DEFAULT_CHANNEL


@dataclass
class IntakeForm:
    """The operator's form: standard fields, the channel's extension fields, the files input."""

    channel: str
    schema: dict[str, Any]
    fields: list[FieldView]
    ext_schema: dict[str, Any]
    ext_fields: list[FieldView]

    @classmethod
    def for_channel(cls, channel: str, standard: bool = True) -> IntakeForm:
        """The whole form, or (``standard=False``) only the channel's part of it."""
        schema: dict[str, Any] = intake_schema() if standard else {"type": "object", "properties": {}}
        ext_schema = extension_schema(channel)
        return cls(channel, schema, form_fields(schema), ext_schema, form_fields(ext_schema))

    def initial(self, args: Any) -> dict[str, Any]:
        """Defaults, then what the URL brings (a telephony screen-pop: ``?ext.caller_number=...``)."""
        values = {**html_values(self.fields, initial_values(self.schema, {})),
                  **html_values(self.ext_fields, initial_values(self.ext_schema, {}))}
        for f in self.fields + self.ext_fields:
            if f.kind != "checkboxes" and args.get(f.name):
                values[f.name] = args.get(f.name)
        caller = values.get(EXT + "caller_number")
        if caller and not values.get("reporter_phone"):
            values["reporter_phone"] = caller
        return values

    def posted(self, form: Any) -> dict[str, Any]:
        return {**posted_values(self.fields, form), **posted_values(self.ext_fields, form)}

    def switched(self, form: Any) -> dict[str, Any]:
        """After a channel switch: what was posted, and the new channel's defaults for the rest."""
        posted = self.posted(form)
        return {**self.initial({}), **{name: value for name, value in posted.items() if name in form}}

    @property
    def title(self) -> str:
        """The extension form's title (12345 热线扩展信息, ...)."""
        return extension_title(self.channel)
