"""How alerts read on screens: their words (severities, statuses, families, actions) in both
languages, and one alert as a row of the list.

Severity is never colour alone: each badge says 黄色/橙色/红色 (yellow/orange/red) too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from engine.alerts.statuses import ACTIONS as LIFECYCLE
from metamodel.alerts import Family, Severity
from renderers.html.report_view import moment_text

SEVERITIES: tuple[str, ...] = get_args(Severity)
FAMILIES: tuple[str, ...] = get_args(Family)
ACTIONS = tuple(LIFECYCLE)
TEXTS = {
    "zh": {
        "alerts_title": "预警",
        "any": "全部",
        "filters": "筛选条件",
        "alert_title": "预警详情",
        "severity": "级别",
        "status": "状态",
        "family": "类别",
        "app": "应用",
        "opened_at": "发生时间",
        "record": "相关记录",
        "unread_only": "仅未读",
        "unread": "未读",
        "no_alerts": "没有符合条件的预警。",
        "alert_count": "共 {count} 条",
        "severity_yellow": "黄色",
        "severity_orange": "橙色",
        "severity_red": "红色",
        "status_open": "待处理",
        "status_acknowledged": "已签收",
        "status_disposed": "已处置",
        "status_resolved": "已解除",
        "family_project": "项目",
        "family_unit": "房源",
        "family_rent": "租金",
        "family_contract": "合同",
        "family_subsidy": "补贴",
        "family_tenant_credit": "租户信用",
        "family_enterprise_credit": "企业信用",
        "family_supplier": "供应商",
        "family_other": "其他",
        "action_acknowledge": "签收",
        "action_dispose": "处置",
        "action_feedback": "反馈",
        "action_resolve": "解除",
        "action_open": "产生",
        "action_escalate": "升级",
        "action_read": "已读",
        "action_auto_resolve": "自动解除",
        "comment": "备注",
        "opinion": "处置意见",
        "feedback": "整改反馈",
        "timeline": "处理记录",
        "deliveries": "发送记录",
        "no_deliveries": "没有发送记录。",
        "channel": "渠道",
        "recipient": "接收人",
        "address": "地址",
        "delivery_status": "发送状态",
        "attempts": "尝试次数",
        "sent_at": "发送时间",
        "delivery_error": "错误",
        "actions": "操作",
        "no_actions": "您不能对该预警执行操作。",
        "done": "已{action}。",
        "refused": "预警已被他人处理，当前状态为：{status}。请查看后再操作。",
        "rule": "规则",
        "alert_opinion": "处置意见",
        "alert_feedback": "整改反馈",
        "alerts_of_mine": "我的待处理预警",
        "all_alerts": "查看全部预警",
    },
    "en": {
        "alerts_title": "Alerts",
        "any": "Any",
        "filters": "Filters",
        "alert_title": "Alert",
        "severity": "Severity",
        "status": "Status",
        "family": "Family",
        "app": "App",
        "opened_at": "Opened",
        "record": "Record",
        "unread_only": "Unread only",
        "unread": "Unread",
        "no_alerts": "No alerts match.",
        "alert_count": "{count} alerts",
        "severity_yellow": "Yellow",
        "severity_orange": "Orange",
        "severity_red": "Red",
        "status_open": "Open",
        "status_acknowledged": "Acknowledged",
        "status_disposed": "Disposed",
        "status_resolved": "Resolved",
        "family_project": "Project",
        "family_unit": "Housing unit",
        "family_rent": "Rent",
        "family_contract": "Contract",
        "family_subsidy": "Subsidy",
        "family_tenant_credit": "Tenant credit",
        "family_enterprise_credit": "Enterprise credit",
        "family_supplier": "Supplier",
        "family_other": "Other",
        "action_acknowledge": "Acknowledge",
        "action_dispose": "Dispose",
        "action_feedback": "Feedback",
        "action_resolve": "Resolve",
        "action_open": "Opened",
        "action_escalate": "Escalated",
        "action_read": "Read",
        "action_auto_resolve": "Resolved by itself",
        "comment": "Comment",
        "opinion": "Opinion",
        "feedback": "Feedback",
        "timeline": "Timeline",
        "deliveries": "Deliveries",
        "no_deliveries": "Nothing was sent.",
        "channel": "Channel",
        "recipient": "Recipient",
        "address": "Address",
        "delivery_status": "Status",
        "attempts": "Attempts",
        "sent_at": "Sent",
        "delivery_error": "Error",
        "actions": "Actions",
        "no_actions": "There is nothing you may do with this alert.",
        "done": "{action}: done.",
        "refused": "Someone else has handled the alert; it is now {status}. Look before acting.",
        "rule": "Rule",
        "alert_opinion": "Opinion",
        "alert_feedback": "Feedback",
        "alerts_of_mine": "My open alerts",
        "all_alerts": "All alerts",
    },
}


@dataclass(frozen=True)
class AlertRow:
    """One alert in a list: `unread` rows are bold with a dot; `severity` is the badge's
    class (`sev-red`) and `severity_label` its word."""

    id: int
    url: str
    title: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    family_label: str
    opened: str
    unread: bool
    record_url: str | None


def word(texts: Mapping[str, str], prefix: str, value: Any) -> str:
    """A coded value's word (`status_open` → 待处理), else the value itself."""
    return texts.get(f"{prefix}_{value}", str(value or ""))


def record_url(alert: Mapping[str, Any]) -> str | None:
    """The detail page of the record the alert is about."""
    app, entity, record_id = alert.get("entity_app"), alert.get("entity"), alert.get("record_id")
    if not app or not entity or record_id is None:
        return None
    return f"/{app}/{entity}/{record_id}"


def alert_row(alert: Mapping[str, Any], texts: Mapping[str, str], timezone: str) -> AlertRow:
    """An alert as `list_alerts` gives it (title and body already in the page's language)."""
    return AlertRow(
        id=int(alert["id"]),
        url=f"/alerts/{alert['id']}",
        title=str(alert.get("title") or ""),
        severity=f"sev-{alert.get('severity')}",
        severity_label=word(texts, "severity", alert.get("severity")),
        status=str(alert.get("status") or ""),
        status_label=word(texts, "status", alert.get("status")),
        family_label=word(texts, "family", alert.get("family")),
        opened=moment_text(alert.get("opened_at"), timezone),
        unread=bool(alert.get("unread")),
        record_url=record_url(alert),
    )
