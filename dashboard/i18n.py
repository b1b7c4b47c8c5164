"""Every label of the dashboard in English and Chinese (terms from /work/shared/GLOSSARY.md).

``t(key, lang)`` returns the label; an unknown key is a bug and raises ``KeyError`` in tests
(``tests/dashboard/test_fmt_i18n.py`` checks every key has both languages). ``{name}`` fields
are filled with ``str.format``.
"""

from __future__ import annotations

LANGS = ("zh", "en")

#: key -> (en, zh)
LABELS: dict[str, tuple[str, str]] = {
    # -- app ----------------------------------------------------------------------------------
    "app_title": ("CallPulse", "CallPulse 呼叫中心监控"),
    "nav_overview": ("Overview", "总览"),
    "nav_compare": ("Queue comparison", "队列对比"),
    "nav_agents": ("Agents", "坐席"),
    "nav_callbacks": ("Call-back list", "回拨清单"),
    "nav_alerts": ("Alerts", "告警"),
    "nav_ops": ("Operations", "运行状态"),
    "nav_definitions": ("Definitions", "指标定义"),
    "nav_wall": ("Wall board", "监控大屏"),
    "language": ("Language", "语言"),
    "tenant": ("Center", "中心"),
    "queues": ("Queues", "队列"),
    "group": ("Group", "队列组"),
    "all_queues": ("All queues", "全部队列"),
    "date": ("Date", "日期"),
    "time_range": ("Time range", "时间范围"),
    "granularity": ("Interval", "时段粒度"),
    "gran_interval": ("{n} min", "{n}分钟"),
    "gran_hour": ("Hour", "小时"),
    "gran_day": ("Day", "天"),
    "no_data": ("No data for this selection.", "所选范围内没有数据。"),
    "no_tenant": ("No call center has sent data yet.", "还没有任何中心的数据。"),
    "redis_down": ("Cannot reach the data store (Redis). Retrying…", "无法连接数据存储（Redis），正在重试…"),
    "error_generic": (
        "Something went wrong; retrying. Details are in the server log.",
        "出现错误，正在重试。详情见服务器日志。",
    ),
    "download_csv": ("Download CSV", "下载 CSV"),
    "download_xlsx": ("Download Excel", "下载 Excel"),
    "open_wall": ("Open the wall board", "打开监控大屏"),
    # -- KPIs -----------------------------------------------------------------------------------
    "offered": ("Offered", "呼入量"),
    "answered": ("Answered", "接通量"),
    "abandoned": ("Abandoned", "放弃量"),
    "overflowed": ("Overflowed", "溢出"),
    "short_abandoned": ("Short abandons", "速挂"),
    "service_level": ("Service level", "服务水平"),
    "sl_now": ("SL this interval", "本时段服务水平"),
    "sl_today": ("SL today", "今日服务水平"),
    "answer_rate": ("Answer rate", "接通率"),
    "abandon_rate": ("Abandonment", "放弃率"),
    "aht_s": ("AHT", "平均处理时长"),
    "asa_s": ("ASA", "平均应答速度"),
    "max_wait_s": ("Longest wait", "最长等待"),
    "waiting": ("Waiting", "排队数"),
    "oldest_wait_s": ("Oldest wait", "最长等待时长"),
    "agents_avail": ("Available", "空闲"),
    "agents_on_call": ("On call", "通话中"),
    "agents_wrap": ("Wrap-up", "话后整理"),
    "agents_aux": ("Aux", "示忙"),
    "agents_out": ("Logged out", "签出"),
    "target": ("target", "目标"),
    "short_ar": ("Answer", "接通率"),
    "short_abn": ("Abandon", "放弃率"),
    "short_aht": ("AHT", "处理时长"),
    # -- wall board -----------------------------------------------------------------------------
    "wall_totals": ("Group total", "组合计"),
    "wall_all": ("All queues", "全部队列"),
    "wall_time": ("Time", "时间"),
    "wall_data_age": ("Data age", "数据延迟"),
    "wall_heartbeat": ("Worker", "处理进程"),
    "wall_hb_ok": ("alive {age}", "正常 {age}"),
    "wall_hb_none": ("no worker", "无处理进程"),
    "wall_page": ("Page {i}/{n}", "第 {i}/{n} 页"),
    "wall_stale": (
        "DATA STOPPED — last worker heartbeat {age} ago. Values are not current.",
        "数据已停止更新 — 最后心跳 {age} 前，数值不是最新的",
    ),
    "wall_no_worker": (
        "DATA STOPPED — no worker is running. Values are not current.",
        "数据已停止更新 — 没有运行中的处理进程，数值不是最新的",
    ),
    "wall_redis_down": (
        "NO CONNECTION to the data store — values are not current. Retrying…",
        "无法连接数据存储 — 数值不是最新的，正在重试…",
    ),
    "wall_unknown_group": (
        "Unknown group “{group}” for center “{tenant}”.",
        "中心“{tenant}”没有队列组“{group}”。",
    ),
    "wall_no_queues": ("No queues to show yet.", "还没有可显示的队列。"),
    "wall_sl_60": ("SL 60 min", "服务水平 60分钟"),
    "wall_vol_60": ("Calls 60 min", "呼入量 60分钟"),
    "wall_no_alerts": ("No active alerts", "无告警"),
    "lvl_ok": ("OK", "正常"),
    "lvl_warn": ("WARNING", "注意"),
    "lvl_crit": ("CRITICAL", "严重"),
    "lvl_none": ("NO DATA", "无数据"),
    # -- overview -------------------------------------------------------------------------------
    "ov_title": ("Overview", "总览"),
    "ov_volume": ("Call volume", "话务量"),
    "ov_sl_ar": ("Service level and answer rate", "服务水平与接通率"),
    "ov_aht_asa": ("AHT and ASA (seconds)", "平均处理时长与平均应答速度（秒）"),
    "ov_last_week": ("same weekday last week", "上周同日"),
    "ov_sl_target": ("SL target", "服务水平目标"),
    "ov_ar_target": ("Answer-rate target", "接通率目标"),
    "ov_intervals": ("Interval table", "时段报表"),
    "ov_time": ("Time", "时间"),
    "ov_queue": ("Queue", "队列"),
    "ov_totals": ("Totals for the selection", "所选范围合计"),
    # -- compare --------------------------------------------------------------------------------
    "cmp_title": ("Queue comparison", "队列对比"),
    "cmp_hint": ("Click a column header to sort.", "点击列标题排序。"),
    # -- agents ---------------------------------------------------------------------------------
    "ag_title": ("Agents", "坐席"),
    "ag_counts": ("Agents by state over time", "各状态坐席数变化"),
    "ag_counts_note": (
        "Last 24 h, sampled once a minute by the stream workers.",
        "最近24小时，由处理进程每分钟采样。",
    ),
    "ag_no_history": (
        "No history yet: the workers sample agent states once a minute.",
        "暂无历史：处理进程每分钟采样一次坐席状态。",
    ),
    "ag_list": ("Agent list", "坐席列表"),
    "ag_agent": ("Agent", "坐席"),
    "ag_state": ("State", "状态"),
    "ag_reason": ("Aux reason", "示忙原因"),
    "ag_since": ("Since", "开始时间"),
    "ag_time": ("Time in state", "状态时长"),
    "ag_queues": ("Queues", "技能队列"),
    "ag_flag": ("Over limit", "超时"),
    "ag_limits": ("Limits: aux {aux}, wrap-up {wrap}", "上限：示忙 {aux}，话后整理 {wrap}"),
    "ag_none": ("No agent has reported a state yet.", "还没有坐席状态数据。"),
    "state_logged_out": ("Logged out", "签出"),
    "state_available": ("Available", "空闲"),
    "state_on_call": ("On call", "通话中"),
    "state_wrap_up": ("Wrap-up", "话后整理"),
    "state_aux": ("Aux", "示忙"),
    # -- call-backs -----------------------------------------------------------------------------
    "cb_title": ("Call-back list", "回拨清单"),
    "cb_caption": (
        "Today's abandoned calls; callers who later got through are marked.",
        "今日放弃的来电；之后已接通的主叫已标出。",
    ),
    "cb_time": ("Abandoned at", "放弃时间"),
    "cb_queue": ("Queue", "队列"),
    "cb_caller": ("Caller", "主叫号码"),
    "cb_wait": ("Wait", "等待时长"),
    "cb_got": ("Got through later", "之后已接通"),
    "cb_got_at": ("Got through at", "接通时间"),
    "cb_pending_only": ("Only callers still to call back", "只显示待回拨"),
    "cb_summary": ("{n} abandoned, {m} still to call back", "放弃 {n} 个，待回拨 {m} 个"),
    "cb_none": ("No abandoned calls today.", "今日没有放弃的来电。"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    # -- alerts ---------------------------------------------------------------------------------
    "al_title": ("Alerts", "告警"),
    "al_firing": ("Firing now", "当前告警"),
    "al_history": ("History", "告警历史"),
    "al_failures": ("Delivery failures", "通知发送失败"),
    "al_none": ("No alert is firing.", "当前没有告警。"),
    "al_only_queue": (
        "Showing queue {queue} only (from the alert's link).",
        "仅显示队列 {queue}（来自告警链接）。",
    ),
    "al_no_history": ("No alert history.", "没有告警历史。"),
    "al_no_failures": ("No delivery failures.", "没有发送失败。"),
    "al_rule": ("Rule", "规则"),
    "al_severity": ("Severity", "级别"),
    "al_queue": ("Queue", "队列"),
    "al_metric": ("Metric", "指标"),
    "al_value": ("Value", "数值"),
    "al_threshold": ("Threshold", "阈值"),
    "al_since": ("Since", "开始时间"),
    "al_state": ("State", "状态"),
    "al_message": ("Message", "内容"),
    "al_channel": ("Channel", "通道"),
    "al_error": ("Error", "错误"),
    "al_attempt": ("Attempt", "尝试次数"),
    "al_time": ("Time", "时间"),
    # -- operations -----------------------------------------------------------------------------
    "ops_title": ("Operations", "运行状态"),
    "ops_workers": ("Workers (heartbeat age)", "处理进程（心跳间隔）"),
    "ops_worker": ("Worker", "处理进程"),
    "ops_age": ("Heartbeat age", "心跳间隔"),
    "ops_dlq": ("Rejected events (dead letter)", "被拒绝的事件（死信）"),
    "ops_reason": ("Reason", "原因"),
    "ops_count": ("Count", "数量"),
    "ops_recent": ("Latest rejections", "最近被拒绝的事件"),
    "ops_detail": ("Detail", "说明"),
    "ops_dlq_none": ("No rejected events.", "没有被拒绝的事件。"),
    "ops_dlq_line": ("{n} events rejected (see Operations)", "{n} 个事件被拒绝（见运行状态）"),
    # -- definitions ----------------------------------------------------------------------------
    "def_title": ("KPI definitions", "指标定义"),
    "def_caption": (
        "The same source as docs/kpis.md (stream/kpis.py DEFINITIONS).",
        "与 docs/kpis.md 同源（stream/kpis.py 的 DEFINITIONS）。",
    ),
    "def_key": ("Field", "字段"),
    "def_name": ("KPI", "指标"),
    "def_formula": ("Formula", "公式"),
}


def t(key: str, lang: str, **fields: object) -> str:
    """The label ``key`` in ``lang`` (``zh`` or ``en``), with ``{fields}`` filled in."""
    en, zh = LABELS[key]
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


def pick_lang(url_lang: str | None, tenant_lang: str) -> str:
    """The URL's ``lang`` when it is one we have, else the tenant's configured language."""
    return url_lang if url_lang in LANGS else tenant_lang
