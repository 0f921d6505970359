"""``/cases/new``: the operator files a work order (standard fields, the channel's extension, files)."""
from __future__ import annotations

import uuid
from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from app.cases.operations import create_case
from app.core.db import session as db
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import get_locale, gettext as _
from app.engine import host
from app.forms.schema import coerce_form, validate
from app.web.forms import form_errors
from app.web.helpers import (current_principal, role_required)

from app.web.cases import bp
from app.web.cases.intake_form import (FILES_FIELD, OPERATOR_CHANNELS, IntakeForm, attach_uploads, case_payload,
                                       channel_arg, extension_errors, flash_created, form_token, posted_extension,
                                       upload_limits, uploaded_files)


@bp.route("/cases/new", methods=["GET", "POST"])
@role_required("operator", "admin")
def new() -> Any:
    principal = current_principal()
    locale = get_locale()
    if request.method == "GET":
        intake = IntakeForm.for_channel(channel_arg(request.args.get("channel")))
        return _render_new(intake, intake.initial(request.args), {}, None, uuid.uuid4().hex, 200)
    posted_channel = request.form.get("channel")
    intake = IntakeForm.for_channel(channel_arg(posted_channel))
    values = intake.posted(request.form)
    idem = form_token(request.form.get("idem"))
    # an unknown channel is refused, not taken for the default: the case would be filed as a hotline call
    channel_errors = {} if posted_channel in OPERATOR_CHANNELS else {"channel": [_channel_message(posted_channel)]}
    if request.form.get("action") == "switch":  # without JavaScript: the channel changed, keep what was typed
        return _render_new(intake, intake.switched(request.form), channel_errors,
                           _("表单有误，请检查标出的字段") if channel_errors else None, idem,
                           422 if channel_errors else 200)
    uploads = uploaded_files(FILES_FIELD)
    data, coerce_errors = coerce_form(intake.schema, request.form, locale)
    extension, ext_errors = posted_extension(intake.channel, request.form, locale)
    errors = {**channel_errors, **validate(intake.schema, data, locale), **coerce_errors, **ext_errors}
    if errors:
        return _render_new(intake, values, errors, _form_message(uploads), idem, 422)
    try:
        case, created, started = create_case(case_payload(data, intake.channel, extension), principal,
                                             idempotency_key=f"web:{idem}", locale=get_locale())
        attached = attach_uploads(case, uploads, principal, "intake", FILES_FIELD) if created else 0
    except ValidationFailed as exc:
        db.rollback()  # nothing is kept: neither the case nor a file's row
        return _render_new(intake, values, extension_errors(exc.errors or {}), _form_message(uploads), idem, 422)
    except host.NoProcessDeployed:
        db.rollback()
        return _render_new(intake, values, {}, _("尚未部署案件流程，请联系管理员"), idem, 503)
    flash_created(case, created, started, attached, _("工单已登记：{number}"))
    return redirect(url_for("cases.show", case_id=case.id))


def _channel_message(posted: str | None) -> str:
    if not posted:
        return _("请选择来源渠道")
    return _("没有这个渠道：{channel}，请从列出的渠道中选择", channel=posted[:40])


def _form_message(uploads: list[FileStorage]) -> str:
    if uploads:  # a browser cannot be given the files back
        return _("表单有误，请检查标出的字段；附件未保存，请重新选择")
    return _("表单有误，请检查标出的字段")


@bp.get("/cases/new/extension")
@role_required("operator", "admin")
def new_extension() -> Any:
    """The extension part of the intake form for another channel (fetched when the operator switches)."""
    channel = request.args.get("channel")
    if channel not in OPERATOR_CHANNELS:
        raise NotFound(_("没有这个渠道"))
    intake = IntakeForm.for_channel(channel, standard=False)
    return render_template("cases/_extension.html", intake=intake, values=intake.initial({}), errors={},
                           autofocus=False)


def _render_new(intake: IntakeForm, values: dict[str, Any], errors: dict[str, list[str]], message: str | None,
                idem: str, status: int) -> Any:
    file_errors = list(errors.get(FILES_FIELD, []))
    channel_errors = list(errors.get("channel", []))
    field_errors, general = form_errors(intake.fields + intake.ext_fields,
                                        {k: v for k, v in errors.items() if k not in (FILES_FIELD, "channel")})
    names = {f.name for f in intake.fields}
    std_errors = {k: v for k, v in field_errors.items() if k in names}
    ext_errors = {k: v for k, v in field_errors.items() if k not in names}
    return render_template("cases/new.html", intake=intake, channels=OPERATOR_CHANNELS, values=values,
                           errors=std_errors, ext_errors=ext_errors, file_errors=file_errors,
                           channel_errors=channel_errors,
                           general_errors=general, message=message, idem=idem, limits=upload_limits()), status
