"""Where a report is and whom it concerns, read from its text (address, title, description).

Chinese complaint texts name their place the way people say it: an estate (锦绣江南小区), a road
(黄兴路), a village (金鼎村), a school (泉塘小学), often behind the districts of the city
(A市A3区…) and after a verb (反映/投诉/关于…). :func:`place_of` finds the named places by their
suffixes, cuts them at the words that cannot be part of a name, and keeps the most specific one
(an estate before its road, a village before its town). :func:`people_of` names the group a text
speaks for (业主, 家长, 村民, …). Plain rules, no model: a hot spot's label must be explainable.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

#: place suffixes by how specific they are: 3 a building or estate, 2 a village, school or site,
#: 1 a road, 0 an administrative area (a town, a street office)
_SUFFIXES: dict[str, int] = {
    **dict.fromkeys("小区 花园 家园 新城 新村 公寓 大厦 广场 公馆 华府 名苑 山庄 雅苑 花苑 国际 公园 市场 商场 医院 酒店 宾馆 "
                    "大楼 商城 安置区 工业园 产业园 物流园 地铁站 汽车站 火车站 高铁站 停车场 菜市场 农贸市场 步行街".split(), 3),
    **dict.fromkeys("村 社区 学校 小学 中学 幼儿园 大学 学院 中心 工地 项目 景区 园 苑 府 城 湾 庭 里 桥".split(), 2),
    **dict.fromkeys("路 大道 街 巷 路段 路口 交汇处 高速 大桥 隧道 立交".split(), 1),
    **dict.fromkeys("镇 乡 街道 片区 区 县".split(), 0),
}
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_SUFFIX_RE = "|".join(sorted(_SUFFIXES, key=len, reverse=True))
#: the administrative prefix of the anonymised sources and of real addresses (A市, A3区, K3县, 西地省)
_ADMIN = re.compile(r"[A-Z][0-9]{0,2}(市|区|县)|[\u4e00-\u9fff]{2,3}省")
#: words that end a name on its left: verbs, prepositions, the petition's vocabulary
_BREAKS = re.compile(
    "政府|跑路|出路|思路|走路|线路|马路|道路|公路|[0-9A-Za-z]*[0-9]+(号楼|号院|号|栋|幢|楼|单元|期|室|层)|反映|关于|投诉|举报|咨询|建议|请问|希望|要求|请求|强烈|严重|问题|情况|我是|本人|我们|我家|位于|地处|座落在|坐落在|"
    "居住在|住在|在|的|对|与|及|至|到|给|被|把|是|有|了|请|让|因|旁|附近|周边|门口|对面|"
    "里面|后面|前面|要建|开始|一带|区域|业主|居民|村民|家长|学生|市民|一个|一些|整个|全体|所有|这个|那个|各位|领导|您好|你好")
_SUFFIX = re.compile(_SUFFIX_RE)
MAX_STEM = 8
_DIGITS = re.compile(r"^[0-9A-Za-z]+")
#: generic words that look like a name with a suffix but name no place
_NOT_PLACES = frozenset("小区 社区 学校 小学 中学 大学 幼儿园 医院 市场 公园 道路 马路 公路 街道 村 组 城市 城区 农村 乡村 "
                        "本小区 该小区 我小区 我们小区 整个小区 老小区 新小区 各小区 周边小区 本村 该村 我村 本组 全村 全组 "
                        "本社区 该社区 项目 工地 中心 园 苑 府 城 湾 庭 里 桥 路 街 巷 镇 乡 片区 安置区 停车场 路段 路口 "
                        "高速 大桥 学院 酒店 宾馆 大楼 商场 商城 小学校 中小学 高中 初中 国际 新城 新村 广场 花园 家园 公寓 "
                        "大厦 公馆 地铁站 汽车站 火车站 高铁站 交汇处 立交 隧道 景区 菜市场 农贸市场 步行街".split())
@dataclass(frozen=True)
class Place:
    name: str
    level: int  # 3 estate/building … 0 administrative area (see _SUFFIXES)

    @property
    def key(self) -> str:
        return self.name


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    return _ADMIN.sub("，", text)


def places_in(text: str) -> list[Place]:
    """The named places of ``text``, in the order they appear. A name is what stands between the
    previous place (or a break) and a suffix, at most :data:`MAX_STEM` characters."""
    out: list[Place] = []
    for chunk in _PUNCT.split(_clean(text)):
        for piece in _BREAKS.split(chunk):
            if not piece or len(piece) < 3:
                continue
            start, pos = 0, 0
            while pos < len(piece):
                m = _SUFFIX.match(piece, pos)
                if m is None:
                    pos += 1
                    continue
                stem = _DIGITS.sub("", piece[start:pos])[-MAX_STEM:]
                name = stem + m.group()
                if not stem and start > 0 and out and pos == start and out[-1].level < 3:  # 金色港湾 + 小区: one name
                    last = out.pop()
                    out.append(Place(last.name + m.group(), max(last.level, _SUFFIXES[m.group()])))
                    start = pos = m.end()
                elif len(stem) >= 2 and name not in _NOT_PLACES:
                    out.append(Place(name, _SUFFIXES[m.group()]))
                    start = pos = m.end()
                else:
                    pos += 1
    return out


def place_of(*texts: str | None) -> Place | None:
    """The most specific place named in the first text that names one (pass the address first,
    then the title, then the description). Among equally specific places the first named wins."""
    for text in texts:
        found = places_in(text or "")
        if found:
            best = max(found, key=lambda p: p.level)  # max keeps the first of the highest level
            return best
    return None


#: the groups a complaint speaks for, each with the words that name it
PEOPLE: dict[str, tuple[str, ...]] = {
    "业主": ("业主", "住户", "购房者", "房主"),
    "居民": ("居民", "市民", "老百姓", "群众"),
    "村民": ("村民", "农户", "农民", "村组"),
    "家长": ("家长", "孩子", "小孩", "子女", "适龄儿童"),
    "学生": ("学生", "考生", "毕业生"),
    "教师": ("教师", "老师", "代课"),
    "职工": ("职工", "员工", "工人", "农民工", "工资"),
    "退休人员": ("退休", "老人", "老年人"),
    "患者": ("患者", "病人", "病患"),
    "商户": ("商户", "商家", "店主", "个体户", "门面"),
    "司机": ("司机", "车主", "驾驶员", "出租车"),
    "租户": ("租户", "租客", "房客"),
    "消费者": ("消费者", "会员", "顾客"),
    "受害人": ("受害人", "投资人", "出借人", "被骗"),
}


_PEOPLE_WORDS = {word: group for group, words in PEOPLE.items() for word in words}
_PEOPLE = re.compile("|".join(sorted(map(re.escape, _PEOPLE_WORDS), key=len, reverse=True)))


def people_of(texts: Iterable[str]) -> list[str]:
    """The groups most spoken for across ``texts``, most mentioned first (at most two): each text
    counts once per group; ties go to the group listed first in :data:`PEOPLE`."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({_PEOPLE_WORDS[m] for m in _PEOPLE.findall(text)})
    order = list(PEOPLE)
    return sorted(counts, key=lambda g: (-counts[g], order.index(g)))[:2]
