"""Display names of the codes the pages show: lazy Chinese texts, shown in the request's language."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from app.catalog.service import lookup_category
from app.core.i18n import LazyText, _l, get_locale, gettext as _
from app.orgs.models import ROLES

STAGES: tuple[tuple[str, LazyText], ...] = (
    ("collect", _l("信息采集")),
    ("verify", _l("核实立案")),
    ("assign", _l("事件分配")),
    ("handle", _l("任务处理")),
    ("feedback", _l("执行反馈")),
    ("inspect", _l("核查结案")),
    ("evaluate", _l("考核评价")),
)

LABELS: dict[str, Mapping[str, str | LazyText]] = {
    "stage": dict(STAGES),
    "status": {"open": _l("处理中"), "closed": _l("已结案"), "rejected": _l("不予立案"), "merged": _l("已合并")},
    "channel": {
        "hotline": _l("12345热线"), "grid": _l("网格巡查"), "city_mgmt": _l("数字城管"), "police110": _l("110非警务"),
        "mailbox": _l("市长信箱"), "wechat": _l("微信公众号"), "weibo": _l("微博"), "open311": "Open311", "api": _l("接口接入"),
    },
    "urgency": {"normal": _l("一般"), "urgent": _l("紧急")},
    "kind": {"component": _l("部件"), "event": _l("事件")},
    "task_state": {"open": _l("待办"), "completed": _l("已完成"), "cancelled": _l("已取消")},
    "light": {"green": _l("正常"), "yellow": _l("临期"), "red": _l("超期"), "none": _l("无时限")},
    "tier": {"community": _l("居村"), "street": _l("街镇"), "district": _l("区级"), "city": _l("市级"), "none": _l("未定层级")},
    "request_kind": {"extension": _l("延期申请"), "return": _l("退单申请")},
    "request_state": {"pending": _l("待审批"), "approved": _l("已批准"), "refused": _l("未批准"), "withdrawn": _l("已撤回")},
    "notification": {
        "urge": _l("催办"), "reminder": _l("临期提醒"), "overdue": _l("超期督办"), "reassigned": _l("改派"),
        "extension_decided": _l("延期审批结果"), "return_decided": _l("退单审批结果"), "request_raised": _l("待审批申请"),
        "parked": _l("挂账"), "unparked": _l("取消挂账"), "escalated": _l("上报"), "duplicate": _l("重复反映"),
        "account": _l("账户安全"),
    },
    "role": {key: zh for key, (zh, _en) in ROLES.items()},
    "action": {
        "case_created": _l("工单登记"),
        "task_created": _l("生成任务"),
        "task_claimed": _l("签收任务"),
        "task_unclaimed": _l("退回签收"),
        "task_completed": _l("提交任务"),
        "task_cancelled": _l("任务取消"),
        "incident_opened": _l("流程异常"),
        "incident_retried": _l("异常已重试"),
        "incident_dismissed": _l("异常已忽略"),
        "timers_fired": _l("时限到点"),
        "task_reminded": _l("临期提醒"),
        "case_supervised": _l("转督办"),
        "task_reassigned": _l("改派"),
        "task_urged": _l("催办"),
        "task_escalated": _l("上报"),
        "task_returned": _l("退单"),
        "extension_requested": _l("提出延期申请"),
        "extension_approved": _l("延期已批准"),
        "extension_refused": _l("延期未批准"),
        "return_requested": _l("提出退单申请"),
        "return_approved": _l("退单已批准"),
        "return_refused": _l("退单未批准"),
        "case_parked": _l("挂账"),
        "case_unparked": _l("取消挂账"),
        "case_merged": _l("合并至主案件"),
        "duplicate_merged_in": _l("并入重复案件"),
        "duplicates_found": _l("发现疑似重复"),
        "duplicate_dismissed": _l("确认不是重复"),
        "priority_raised": _l("提高紧急程度"),
        "attachment_added": _l("添加附件"),
        "proposal_overridden": _l("改选规则建议"),
        "incident_repaired": _l("异常已修复"),
        "case_repaired": _l("流程已修复"),
        "tasks_reprojected": _l("任务已重新同步"),
        "case_migrated": _l("迁移到新流程版本"),
        "reporter_informed": _l("告知反映人合并结果"),
        "reporter_notice_delivered": _l("已答复反映人"),
    },
    # why the detector proposes a candidate (app.duplicates.detector.score); some take a number
    "dup_reason": {
        "same_text": _l("相同内容"), "similar_text": _l("内容相似"), "nearby": _l("距离相近"), "same_address": _l("同一地址"),
        "same_category": _l("同一类别"), "same_reporter": _l("同一反映人"), "recent": _l("时间相近"),
    },
    "attachment_source": {"upload": _l("上传"), "intake": _l("登记时上传"), "open311": "Open311", "task": _l("随环节表单上传")},
    "photo_tag": {"before": _l("处置前"), "after": _l("处置后")},
}


def label(group: str, code: str | None) -> str:
    """The display name of ``code`` in ``group`` for the current language; unknown codes as they are."""
    if code is None or code == "":
        return "—"
    text = LABELS.get(group, {}).get(code)
    if text is None:
        return code
    if group == "role" and code in ROLES:
        return ROLES[code][1] if get_locale() == "en" else str(text)
    return str(text)


def category_label(code: str | None) -> str:
    """``event:06010`` → ``暴露垃圾（事件 06010）``: the catalogue's name, with the code (also for a
    key only an older catalogue version has); the code alone if the catalogue does not know it."""
    if not code:
        return "—"
    kind, _sep, number = code.partition(":")
    plain = f"{label('kind', kind)} {number}" if number else code
    info = lookup_category(code, include_retired=True)
    return _("{name}（{code}）", name=info.name, code=plain) if info is not None else plain


def duplicate_reason(code: str, details: Mapping[str, Any] | None = None) -> str:
    """A candidate's reason with its figure where there is one: 内容相似 (82%), 距离 35 米, 3 天内."""
    details = details or {}
    if code == "similar_text" and isinstance(details.get("text_similarity"), (int, float)):
        return _("内容相似（{pct}%）", pct=round(100 * details["text_similarity"]))
    if code == "nearby" and isinstance(details.get("distance_m"), (int, float)):
        return _("距离 {n} 米", n=round(details["distance_m"]))
    if code == "recent" and isinstance(details.get("days_apart"), (int, float)):
        return _("{n} 天内", n=max(1, math.ceil(details["days_apart"])))
    return label("dup_reason", code)


def file_size(size: int | None) -> str:
    """Bytes as people read them: 812 B, 35 KB, 2.4 MB."""
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"
