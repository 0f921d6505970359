"""A small 12345 topic tree for the demo city, written for Tongguan (not any real city's tree).

A real city imports its own tree with ``flask catalog import-topics FILE``; the demo only needs
something to pick from. Loaded by ``flask demo load`` when no topic tree is loaded yet.
"""
from __future__ import annotations

from sqlalchemy import select

from app.catalog.models import TOPICS_12345, CatalogVersion
from app.catalog.operations import LoadResult, load_topic_paths
from app.core.db import session

SOURCE = "示范市演示分类树 / Tongguan demo topic tree (invented for the demo)"

DEMO_TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "市容环境": {
        "环境卫生": ("垃圾清运", "垃圾桶满溢", "道路保洁"),
        "市容秩序": ("占道经营", "乱贴广告", "违规晾晒"),
    },
    "道路交通": {
        "道路设施": ("路面破损", "井盖缺失", "行道树倒伏"),
        "交通秩序": ("违章停车", "公交线路", "共享单车乱停"),
    },
    "公用事业": {
        "供水供电": ("停水", "停电", "水压不足"),
        "燃气供热": ("燃气异味", "暖气不热"),
    },
    "房屋住建": {
        "物业管理": ("电梯故障", "物业收费", "小区绿化"),
        "违法建设": ("私搭乱建", "重复施工"),
    },
    "社会事务": {
        "养老服务": ("长者食堂", "居家养老"),
        "噪声扰民": ("施工噪声", "商业噪声", "银行门口噪声"),
    },
    "咨询建议": {
        "政策咨询": ("办事指南", "社保咨询"),
        "意见建议": ("城市管理建议", "表扬"),
    },
}


def demo_paths() -> list[tuple[str, ...]]:
    return [(first, second, third) for first, seconds in DEMO_TOPICS.items()
            for second, thirds in seconds.items() for third in thirds]


def load_demo_topics() -> LoadResult | None:
    """Load the demo tree unless a topic tree (demo or real) was ever loaded; None if skipped."""
    if session.scalar(select(CatalogVersion.id).where(CatalogVersion.catalog == TOPICS_12345).limit(1)):
        return None
    return load_topic_paths(demo_paths(), SOURCE, actor="demo")
