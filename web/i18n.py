"""Interface text in Chinese (default) and English; department and rule names come from
config.yaml and the rule YAML, in both languages."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "app": ("订单异常监控", "orderwatch"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"), "username": ("用户名", "User name"),
    "password": ("密码", "Password"), "bad_login": ("用户名或密码错误", "Wrong user name or password"),
    "too_many": ("登录失败次数过多，请稍后再试", "Too many failed logins; try again later"),
    "queues": ("队列", "Queues"), "dashboard": ("看板", "Dashboard"), "rules": ("规则", "Rules"),
    "upload": ("上传", "Upload"), "users": ("用户", "Users"), "my_stores": ("我的门店", "My stores"),
    "flag": ("异常", "Flag"), "level": ("级别", "Level"), "kind": ("类型", "Kind"), "rule": ("规则", "Rule"),
    "store": ("门店", "Store"), "order": ("订单", "Order"), "status": ("状态", "Status"),
    "assignee": ("处理人", "Assignee"), "reason": ("原因", "Reason"), "occurred": ("发生时间", "Occurred"),
    "created": ("创建时间", "Created"), "department": ("部门", "Department"), "from": ("从", "From"),
    "to": ("到", "To"), "filter": ("筛选", "Filter"), "search_order": ("按订单号搜索", "Search order id"),
    "sort": ("排序", "Sort"), "next_page": ("下一页", "Next page"), "first_page": ("第一页", "First page"),
    "no_flags": ("没有符合条件的异常", "No flags match"), "all": ("全部", "All"),
    "active": ("待处理", "Active"), "open": ("未处理", "Open"), "acknowledged": ("已确认", "Acknowledged"),
    "resolved": ("已解决", "Resolved"), "dismissed": ("已忽略", "Dismissed"),
    "confirmed": ("确认异常", "Confirmed anomaly"), "false_positive": ("误报", "False positive"),
    "corrected": ("已更正", "Corrected"), "acknowledge": ("确认收到", "Acknowledge"),
    "resolve": ("解决", "Resolve"), "dismiss": ("忽略", "Dismiss"), "reopen": ("重新打开", "Reopen"),
    "assign": ("指派", "Assign"), "comment": ("评论", "Comment"), "note": ("备注", "Note"),
    "confirm_correction": ("确认已更正", "Confirm correction"), "why": ("为何触发", "Why it fired"),
    "lines": ("订单明细", "Order lines"), "history_chart": ("门店近期日订购量", "Store's recent daily quantity"),
    "related": ("相关异常", "Related flags"), "audit": ("处理记录", "Audit trail"),
    "conflict": ("冲突", "Conflict"), "bulk": ("批量操作", "Bulk action"), "apply": ("执行", "Apply"),
    "selected": ("勾选的", "selected"), "all_filtered": ("筛选结果全部", "all filtered"),
    "backlog": ("积压与超时", "Backlog and overdue"), "overdue": ("超时未确认", "Overdue"),
    "per_day": ("每日新增异常（按类型）", "Flags per day by kind"), "top_stores": ("异常最多的门店", "Top stores"),
    "rule_stats": ("规则命中与误报率", "Rule hits and false-positive rate"), "hits": ("命中", "Hits"),
    "fp_rate": ("误报率", "False-positive rate"), "validate_reload": ("校验并重新加载", "Validate and reload"),
    "rules_ok": ("规则已校验并生效", "Rules valid and in force"),
    "rules_bad": ("规则有误，未生效，原规则继续有效", "Rules invalid; not applied, the running rules stay"),
    "threshold": ("阈值条件", "Threshold"), "value": ("数值", "Value"), "feature": ("特征", "Feature"),
    "upload_help": ("拖放或选择 CSV / Excel / JSON 订单文件", "Drop or choose a CSV / Excel / JSON order export"),
    "scan_summary": ("扫描结果", "Scan summary"), "read": ("读取", "Read"), "accepted": ("接受", "Accepted"),
    "quarantined": ("隔离", "Quarantined"), "download_quarantine": ("下载隔离行", "Download quarantined rows"),
    "flags_found": ("发现异常", "Flags found"), "new_flags": ("新异常", "New flags"),
    "language": ("语言", "Language"), "role": ("角色", "Role"), "stores": ("门店", "Stores"),
    "departments": ("部门", "Departments"), "add_user": ("添加用户", "Add user"), "save": ("保存", "Save"),
    "not_found": ("未找到", "Not found"), "forbidden": ("无权限", "Forbidden"),
    "csrf": ("表单已过期，请刷新后重试", "The form expired; reload and try again"),
    "baseline": ("基线", "Baseline"), "quantity": ("数量", "Quantity"), "price": ("单价", "Price"),
    "amount": ("金额", "Amount"), "sku": ("商品", "SKU"), "product": ("商品名称", "Product"),
    "address": ("地址", "Address"), "phone": ("电话", "Phone"), "consignee": ("收货人", "Consignee"),
    "fired_level": ("触发级别", "Fired level"), "conditions": ("各级条件", "Level conditions"),
    "info": ("提示", "Info"), "warn": ("警告", "Warning"), "critical": ("严重", "Critical"),
    "enabled": ("启用", "Enabled"), "disabled": ("停用", "Disabled"), "file": ("文件", "File"),
    "done": ("完成", "Done"), "skipped": ("跳过", "Skipped"),
}


def translate(key: str, lang: str) -> str:
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]
