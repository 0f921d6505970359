"""Display names of the codes the pages show (Chinese; ``_()`` gives the English)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from app.catalog.service import lookup_category
from app.core.i18n import get_locale, gettext as _
from app.orgs.models import ROLES

STAGES: tuple[tuple[str, str], ...] = (
    ("collect", "信息采集"),
    ("verify", "核实立案"),
    ("assign", "事件分配"),
    ("handle", "任务处理"),
    ("feedback", "执行反馈"),
    ("inspect", "核查结案"),
    ("evaluate", "考核评价"),
)

LABELS: dict[str, dict[str, str]] = {
    "stage": dict(STAGES),
    "status": {"open": "处理中", "closed": "已结案", "rejected": "不予立案", "merged": "已合并"},
    "channel": {
        "hotline": "12345热线", "grid": "网格巡查", "city_mgmt": "数字城管", "police110": "110非警务",
        "mailbox": "市长信箱", "wechat": "微信公众号", "weibo": "微博", "open311": "Open311", "api": "接口接入",
    },
    "urgency": {"normal": "一般", "urgent": "紧急"},
    "kind": {"component": "部件", "event": "事件"},
    "task_state": {"open": "待办", "completed": "已完成", "cancelled": "已取消"},
    "light": {"green": "正常", "yellow": "临期", "red": "超期"},
    "tier": {"community": "居村", "street": "街镇", "district": "区级", "city": "市级"},
    "request_kind": {"extension": "延期申请", "return": "退单申请"},
    "request_state": {"pending": "待审批", "approved": "已批准", "refused": "未批准", "withdrawn": "已撤回"},
    "notification": {
        "urge": "催办", "reminder": "临期提醒", "overdue": "超期督办", "reassigned": "改派",
        "extension_decided": "延期审批结果", "return_decided": "退单审批结果", "request_raised": "待审批申请",
        "parked": "挂账", "unparked": "取消挂账", "escalated": "上报", "duplicate": "重复反映",
        "account": "账户安全",
    },
    "role": {key: zh for key, (zh, _en) in ROLES.items()},
    "action": {
        "case_created": "工单登记",
        "task_created": "生成任务",
        "task_claimed": "签收任务",
        "task_unclaimed": "退回签收",
        "task_completed": "提交任务",
        "task_cancelled": "任务取消",
        "incident_opened": "流程异常",
        "incident_retried": "异常已重试",
        "incident_dismissed": "异常已忽略",
        "timers_fired": "时限到点",
        "task_reminded": "临期提醒",
        "case_supervised": "转督办",
        "task_reassigned": "改派",
        "task_urged": "催办",
        "task_escalated": "上报",
        "task_returned": "退单",
        "extension_requested": "提出延期申请",
        "extension_approved": "延期已批准",
        "extension_refused": "延期未批准",
        "return_requested": "提出退单申请",
        "return_approved": "退单已批准",
        "return_refused": "退单未批准",
        "case_parked": "挂账",
        "case_unparked": "取消挂账",
        "case_merged": "合并至主案件",
        "duplicate_merged_in": "并入重复案件",
        "duplicates_found": "发现疑似重复",
        "duplicate_dismissed": "确认不是重复",
        "priority_raised": "提高紧急程度",
        "attachment_added": "添加附件",
        "proposal_overridden": "改选规则建议",
        "incident_repaired": "异常已修复",
        "case_repaired": "流程已修复",
        "tasks_reprojected": "任务已重新同步",
        "reporter_informed": "告知反映人合并结果",
        "reporter_notice_delivered": "已答复反映人",
    },
    # why the detector proposes a candidate (app.duplicates.detector.score); some take a number
    "dup_reason": {
        "same_text": "相同内容", "similar_text": "内容相似", "nearby": "距离相近", "same_address": "同一地址",
        "same_category": "同一类别", "same_reporter": "同一反映人", "recent": "时间相近",
    },
    "attachment_source": {"upload": "上传", "intake": "登记时上传", "open311": "Open311", "task": "随环节表单上传"},
    "photo_tag": {"before": "处置前", "after": "处置后"},
}


def label(group: str, code: str | None) -> str:
    """The display name of ``code`` in ``group`` for the current language; unknown codes as they are."""
    if code is None or code == "":
        return "—"
    text = LABELS.get(group, {}).get(code)
    if text is None:
        return code
    if group == "role" and code in ROLES:
        return ROLES[code][1] if get_locale() == "en" else text
    return _(text)


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
