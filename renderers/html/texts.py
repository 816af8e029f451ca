"""Words every screen shares (navigation, buttons, errors), in Chinese and English.

Each screen keeps its own words beside its view model; these are the common ones. A missing
key is an error in tests (StrictUndefined), never a blank on the page.
"""

from __future__ import annotations

COMMON: dict[str, dict[str, str]] = {
    "zh": {
        "app_name": "安居",
        "home": "首页",
        "inbox": "待办",
        "alerts": "预警",
        "unread_alerts": "（{count} 条未读）",
        "reports": "报表与看板",
        "studio": "配置工作室",
        "audit": "审计",
        "logout": "退出登录",
        "other_language": "English",
        "skip_to_content": "跳到正文",
        "menu": "菜单",
        "save": "保存",
        "cancel": "取消",
        "search": "搜索",
        "filter": "筛选",
        "reset": "重置",
        "new": "新建",
        "edit": "编辑",
        "delete": "删除",
        "back": "返回",
        "yes": "是",
        "no": "否",
        "none": "无",
        "next_page": "下一页",
        "first_page": "第一页",
        "error_title": "出错了",
        "error_400": "请求有误。",
        "error_401": "请先登录。",
        "error_403": "您没有权限执行此操作。",
        "error_404": "找不到该页面或记录。",
        "error_409": "记录已被他人修改，请刷新后重试。",
        "error_422": "提交的内容有误。",
        "error_500": "系统出错，运维人员可在日志中查到原因。",
        "go_home": "返回首页",
    },
    "en": {
        "app_name": "Anju",
        "home": "Home",
        "inbox": "Inbox",
        "alerts": "Alerts",
        "unread_alerts": " ({count} unread)",
        "reports": "Reports and dashboards",
        "studio": "Studio",
        "audit": "Audit",
        "logout": "Log out",
        "other_language": "中文",
        "skip_to_content": "Skip to content",
        "menu": "Menu",
        "save": "Save",
        "cancel": "Cancel",
        "search": "Search",
        "filter": "Filter",
        "reset": "Reset",
        "new": "New",
        "edit": "Edit",
        "delete": "Delete",
        "back": "Back",
        "yes": "Yes",
        "no": "No",
        "none": "none",
        "next_page": "Next page",
        "first_page": "First page",
        "error_title": "Something went wrong",
        "error_400": "The request was not understood.",
        "error_401": "Please log in first.",
        "error_403": "You may not do this.",
        "error_404": "No such page or record.",
        "error_409": "Someone else changed the record; reload and try again.",
        "error_422": "Some of what you entered is not valid.",
        "error_500": "Internal error; the operators can find it in the log.",
        "go_home": "Back to the home page",
    },
}


def words(language: str, own: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """The common words in `language`, with a screen's own words over them."""
    merged = dict(COMMON[language])
    if own:
        merged.update(own[language])
    return merged
