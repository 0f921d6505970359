"""Typical category queries of operators and dispatchers, with the first hit they expect.

Inspired by how citizens word their complaints in a city's 12345 messages (../shared/data: 噪音,
违建, 下水道, 乱停 …; no message is copied here) and by the GB/T 47678.5 names operators learn.
Each case: (query, kind or None, the expected first hit's name, why). Used by
tests/catalog/test_search_ranking.py and bench/bench_catalog.py.
"""
from __future__ import annotations

CASES: list[tuple[str, str | None, str, str]] = [
    # pinyin initials
    ("jg", None, "污水井盖", "the issue's case: 井盖 is the head of 污水井盖; 景观灯 only starts with jg"),
    ("jg", "event", "污水井盖异常", "the same among events"),
    ("wsjg", None, "污水井盖", "exact initials of the whole name"),
    ("ysjg", None, "雨水井盖", "exact initials"),
    ("ld", None, "路灯", "exact initials: 路灯 and 绿地 both; the common one first"),
    ("ljx", None, "垃圾箱", "exact initials"),
    ("lj", None, "暴露垃圾", "垃圾 is the head of 暴露垃圾, the most common event"),
    ("bllj", None, "暴露垃圾", "exact initials"),
    ("zdjy", None, "占道经营", "exact initials"),
    ("jdcltf", None, "机动车乱停放", "exact initials"),
    ("fjdc", None, "非机动车乱停放", "prefix: the common event before the component 非机动车停放点"),
    ("xds", None, "行道树", "行 read xing"),
    ("hds", None, "行道树", "行 read hang (a secondary reading)"),
    ("ggcs", None, "公共厕所", "exact initials"),
    ("xgg", None, "非法小广告", "小广告 is the head of 非法小广告"),
    ("zsrm", None, "噪声扰民", "exact initials"),
    ("ltsk", None, "露天烧烤", "exact initials"),
    ("dlps", None, "道路破损", "exact initials"),
    ("xhd", None, "交通信号灯", "信号灯 is the head of 交通信号灯, a modifier of 信号灯电源井盖"),
    ("xsd", None, "污水井盖", "a citizen's word in initials: 下水道"),
    # full pinyin
    ("jinggai", None, "污水井盖", "full pinyin of the head word"),
    ("ludeng", None, "路灯", "full pinyin, exact"),
    ("lajixiang", None, "垃圾箱", "full pinyin, exact"),
    ("zhandaojingying", None, "占道经营", "full pinyin, exact"),
    ("baolu", None, "暴露垃圾", "full pinyin, prefix"),
    ("zaosheng", None, "噪声扰民", "full pinyin, prefix: the common event before 噪声显示屏"),
    ("xiashuidao", None, "污水井盖", "a citizen's word in full pinyin"),
    # Chinese fragments
    ("井盖", None, "污水井盖", "head word"),
    ("垃圾", None, "暴露垃圾", "head word of the most common event"),
    ("乱停", None, "机动车乱停放", "inside the name; the common one first"),
    ("路灯", None, "路灯", "exact"),
    ("广告", None, "非法小广告", "head word; the most common of four"),
    ("扰民", None, "噪声扰民", "head word"),
    ("信号灯", None, "交通信号灯", "head word before a modifier"),
    ("灯", None, "路灯", "head word; the common one first"),
    ("消防通道", None, "占用消防通道", "head word"),
    ("扬尘", None, "工地扬尘", "head word"),
    ("乞讨", None, "流浪乞讨", "head word"),
    ("地锁", None, "私设地锁、阻车桩", "inside the name"),
    # citizens' words (app/catalog/data/synonyms.txt)
    ("下水道", None, "污水井盖", "synonym"),
    ("牛皮癣", None, "非法小广告", "synonym"),
    ("小广告", None, "非法小广告", "head word"),
    ("乱停车", None, "机动车乱停放", "synonym"),
    ("摆摊", None, "占道经营", "synonym"),
    ("垃圾桶", None, "垃圾箱", "synonym"),
    ("厕所", None, "公共厕所", "synonym and head word"),
    ("违建", None, "私搭乱建", "synonym"),
    ("违章建筑", None, "私搭乱建", "synonym"),
    ("路灯不亮", None, "路灯异常", "synonym (a phrase)"),
    ("噪音", None, "噪声扰民", "synonym"),
    ("渣土车", None, "渣土运输车辆未安装密闭装置", "synonym"),
    ("晾晒", None, "沿街晾挂", "synonym"),
    ("共享单车", None, "共享单车乱象", "synonym and prefix"),
    ("坑洼", None, "道路破损", "synonym"),
    # codes
    ("event:06010", None, "暴露垃圾", "a key"),
]
