"""What the demo history's cases say: invented places, people and reports, written for Tongguan.

Everything here is made up for the demo city (app/orgs/demo.py): road and compound names are
built from word lists, reporters get invented names and phone numbers from the 1380000xxxx range
that demo data uses, and each kind of problem has its own title and wording templates. No text is
taken from real messages. Each function draws from the ``random.Random`` it is given, so a seed
gives the same city every time.
"""
from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass, field

# -------------------------------------------------------------------- places

ROAD_WORDS = ("望江", "青松", "春晖", "银杏", "丰泽", "安澜", "临湖", "长宁", "锦绣", "云栖", "南塘", "北苑", "翠柳",
              "和平", "兴业", "福海", "明德", "启航", "泰来", "金桂", "紫荆", "海棠", "梧桐", "月湖", "晴川", "星河",
              "秀水", "东篱", "嘉禾", "新民", "振华", "同心", "育才", "长乐", "永丰", "清溪", "凤鸣", "龙腾", "湖光",
              "滨河", "文汇", "百花", "松鹤", "惠民", "瑞祥", "广源")
ROAD_KINDS = ("路", "路", "路", "街", "大道", "巷")
COMPOUND_WORDS = ("阳光", "翠湖", "金色", "绿洲", "江南", "书香", "御景", "幸福", "万和", "东方", "丽水", "枫叶",
                  "春天", "水岸", "锦华", "馨园", "怡景", "新城", "明珠", "康乐", "碧云", "天悦", "华庭", "香樟")
COMPOUND_KINDS = ("花园", "小区", "新村", "家园", "苑", "公寓", "雅居", "名邸")
SPOTS = ("公交站旁", "菜市场门口", "小学门口", "地铁站出口", "十字路口", "超市门前", "幼儿园旁", "社区卫生服务站前",
         "快递驿站旁", "银行网点门口", "公园东门", "加油站对面")
MARKETS = ("农贸市场", "美食街", "商业街", "夜市")


@dataclass(frozen=True)
class Place:
    """Somewhere in one community: a road, a residential compound or a market, with a point."""

    community: str  # org unit code of the community
    kind: str  # road, compound, market
    name: str
    address: str  # as an operator writes it down
    lat: float
    lng: float
    spot: str = ""  # a landmark or a building, for titles


@dataclass
class Community:
    code: str
    district: str  # 东湖区
    street: str  # 湖滨街道
    name: str  # 滨江社区
    box: tuple[float, float, float, float]  # south, west, north, east
    roads: list[str] = field(default_factory=list)
    compounds: list[str] = field(default_factory=list)
    market: str = ""


def name_places(communities: list[Community], rng: random.Random) -> None:
    """Give each community its own roads, compounds and market; no two share a name."""
    used: set[str] = set()

    def unique(words: tuple[str, ...], kinds: tuple[str, ...]) -> str:
        while True:
            name = rng.choice(words) + rng.choice(kinds)
            if name not in used:
                used.add(name)
                return name

    for c in communities:
        c.roads = [unique(ROAD_WORDS, ROAD_KINDS) for _ in range(3)]
        c.compounds = [unique(COMPOUND_WORDS, COMPOUND_KINDS) for _ in range(3)]
        c.market = c.roads[0][:2] + rng.choice(MARKETS)


def _point(c: Community, rng: random.Random, spread: float = 0.8) -> tuple[float, float]:
    """A point inside the community's box (away from its edge)."""
    s, w, n, e = c.box
    mid_lat, mid_lng = (s + n) / 2, (w + e) / 2
    return (round(mid_lat + (rng.random() - 0.5) * (n - s) * spread, 6),
            round(mid_lng + (rng.random() - 0.5) * (e - w) * spread, 6))


def pick_place(c: Community, kind: str, rng: random.Random) -> Place:
    """A place of ``kind`` in community ``c``, with an address that reads like a Chinese one."""
    prefix = f"示范市{c.district}{c.street}"
    lat, lng = _point(c, rng)
    if kind == "compound":
        name = rng.choice(c.compounds)
        building = f"{rng.randint(1, 24)}号楼"
        unit = f"{rng.randint(1, 4)}单元"
        return Place(c.code, kind, name, f"{prefix}{c.name}{name}{building}{unit}", lat, lng, building)
    if kind == "market":
        road = c.roads[0]
        return Place(c.code, kind, c.market, f"{prefix}{road}{rng.randint(1, 60) * 2}号{c.market}", lat, lng,
                     rng.choice(("入口", "东侧通道", "西侧摊位区", "停车区")))
    road = rng.choice(c.roads)
    if rng.random() < 0.3:
        other = rng.choice([r for r in c.roads if r != road])
        return Place(c.code, "road", road, f"{prefix}{road}与{other}交叉口", lat, lng, "交叉口")
    return Place(c.code, "road", road, f"{prefix}{road}{rng.randint(1, 300)}号附近", lat, lng, rng.choice(SPOTS))


# -------------------------------------------------------------------- people

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国秀英志强桂兰海燕伟明丽华子涵浩然雨桐一鸣晓东春梅国庆文静家豪思远佳怡振宇美玲俊杰淑芬德华玉兰红霞"


@dataclass(frozen=True)
class Reporter:
    name: str
    phone: str


def reporter(rng: random.Random) -> Reporter:
    """An invented citizen; the numbers come from 1380000xxxx, which demo data uses throughout."""
    surname = rng.choice(SURNAMES)
    if rng.random() < 0.55:
        name = surname + rng.choice(("先生", "女士"))  # what a hotline operator usually writes down
    else:
        i = rng.randrange(0, len(GIVEN) - 1, 2)
        name = surname + GIVEN[i:i + 2] if rng.random() < 0.7 else surname + GIVEN[i]
    return Reporter(name, f"1380000{rng.randint(0, 9999):04d}")


# -------------------------------------------------------------------- problems

@dataclass(frozen=True)
class Problem:
    """One kind of problem citizens and inspectors report, and how it is written up and handled."""

    category: str  # key of GB/T 47678.5, e.g. event:06010
    topic: str  # path in the demo 12345 topic tree (app/catalog/demo.py)
    weight: float  # how common it is
    place: str  # road, compound, market
    titles: tuple[str, ...]  # templates: {where} the place's name, {spot} its landmark
    details: tuple[str, ...]  # what the reporter saw
    impacts: tuple[str, ...]  # why it matters to them
    handling: tuple[str, ...]  # what the unit did
    urgent: float = 0.05  # share reported as urgent
    channels: tuple[str, ...] = ()  # channels it mostly comes from (empty: any)


PROBLEMS: tuple[Problem, ...] = (
    Problem("event:06010", "市容环境/环境卫生/垃圾清运", 9, "road",
            ("{where}{spot}暴露垃圾", "{where}路边垃圾无人清理", "{where}{spot}生活垃圾堆积"),
            ("路边堆了好几袋生活垃圾，已经两天没人清运", "绿化带里有人丢弃装修垃圾和纸箱", "垃圾散落在人行道上，还有积水"),
            ("天热后气味很大", "影响行人通行", "招来苍蝇老鼠"),
            ("已安排保洁员清运垃圾并冲洗地面", "已清理完毕，并在该处增加巡查频次", "已清运，并张贴禁止乱倒垃圾的告示"),
            channels=("hotline", "grid", "city_mgmt", "wechat")),
    Problem("event:06042", "市容环境/环境卫生/垃圾桶满溢", 5, "compound",
            ("{where}垃圾桶满溢", "{where}{spot}垃圾站满溢", "{where}垃圾分类点清运不及时"),
            ("小区里的垃圾桶从早上就满了，垃圾堆在桶外", "垃圾站周边满地都是垃圾袋", "垃圾分类点的桶全满，没人来收"),
            ("居民下楼倒垃圾无处可放", "味道飘到楼上，窗户都不敢开", "晚上有野猫翻垃圾"),
            ("已联系清运车辆加派一次清运", "已清运，并与物业约定每日两次清运", "已清理，督促物业调整清运时间")),
    Problem("event:09006", "市容环境/市容秩序/占道经营", 7, "market",
            ("{where}{spot}占道经营", "{where}流动摊贩占用人行道", "{where}早市摊位占道"),
            ("摊位把盲道全部占了", "卖水果的三轮车停在路口卖货", "早上六点起就有摊贩把摊位摆到人行道上"),
            ("行人只能走机动车道，很危险", "上下班高峰堵得厉害", "收摊后留下一地垃圾"),
            ("城管中队已劝离占道摊贩，引导进入市场内经营", "已现场整治，并安排早晚时段定点巡查", "已依法劝导，摊贩已撤离"),
            channels=("hotline", "grid", "city_mgmt")),
    Problem("event:09009", "道路交通/交通秩序/违章停车", 6, "road",
            ("{where}{spot}机动车乱停放", "{where}车辆长期占用人行道停放", "{where}路口违停堵塞交通"),
            ("有车辆停在消防通道出入口", "有几辆车长时间停在人行道上", "路口两侧停满车，公交车过不去"),
            ("孩子上学只能绕到马路上走", "早高峰经常堵车", "出了事消防车进不来"),
            ("已联系交警部门依法处理违停车辆", "已张贴违停告知单，车辆已驶离", "已设置隔离桩，违停车辆已清理"),
            channels=("hotline", "police110", "wechat", "city_mgmt")),
    Problem("event:09011", "道路交通/交通秩序/共享单车乱停", 4, "road",
            ("{where}{spot}共享单车乱停放", "{where}共享单车堆积", "{where}地铁口单车占道"),
            ("单车倒了一地，没人整理", "地铁口堆了上百辆共享单车", "共享单车把人行道堵死了"),
            ("推婴儿车根本过不去", "晚上看不清容易绊倒", "影响沿街商铺出入"),
            ("已通知运营企业清运调度车辆", "运营企业已整理摆放并清走多余车辆", "已清理，并划定单车停放区")),
    Problem("event:07001", "市容环境/市容秩序/乱贴广告", 4, "compound",
            ("{where}楼道小广告", "{where}{spot}墙面小广告", "{where}非法小广告"),
            ("楼道和电梯里贴满了开锁、办证的小广告", "小区围墙上喷涂了很多小广告", "电线杆上贴满了招租广告"),
            ("怎么撕都撕不干净", "影响小区环境", "有的广告还涉嫌诈骗"),
            ("已组织清除小广告，并对广告上的号码依法处理", "已清理完毕", "已清除，并协调物业加强巡查"),
            channels=("grid", "city_mgmt", "hotline")),
    Problem("component:01002", "道路交通/道路设施/井盖缺失", 4, "road",
            ("{where}{spot}污水井盖破损", "{where}井盖松动", "{where}井盖缺失"),
            ("人行道上的污水井盖裂开了一块", "井盖松动，车一压就响", "井盖不见了，只剩一个黑洞"),
            ("晚上有人差点踩空", "存在很大的安全隐患", "附近有小学，孩子多"),
            ("已设置围挡，并更换新井盖", "已加固井盖并复查周边井盖", "已补装井盖，恢复正常"),
            urgent=0.3),
    Problem("event:06013", "道路交通/道路设施/路面破损", 4, "road",
            ("{where}{spot}路面破损", "{where}路面坑洼", "{where}人行道地砖松动"),
            ("道路塌陷了一小块", "路面有一个很大的坑，下雨积水", "人行道地砖松动翘起"),
            ("电动车经过容易摔倒", "老人走路容易绊倒", "车辆经过溅得到处是水"),
            ("已设置警示并完成修复", "已修补路面坑洼", "已更换破损地砖"),
            urgent=0.1),
    Problem("event:01037", "道路交通/道路设施/路面破损", 3, "road",
            ("{where}路灯不亮", "{where}{spot}路灯损坏", "{where}一排路灯夜间熄灭"),
            ("这段路的路灯已经一周不亮了", "路灯灯罩掉了，灯杆也歪了", "晚上一整排路灯都不亮"),
            ("晚上走路很黑，不安全", "夜里经常有人摔倒", "附近居民晚上不敢出门散步"),
            ("已更换灯具并恢复照明", "已扶正灯杆并更换灯罩", "已维修线路，路灯恢复正常"),
            channels=("hotline", "grid", "city_mgmt")),
    Problem("event:06028", "社会事务/噪声扰民/商业噪声", 5, "market",
            ("{where}商铺噪声扰民", "{where}{spot}夜间噪声", "{where}广场舞音响扰民"),
            ("店铺门口大音量放音乐招揽生意", "晚上十点以后还有大音量音响", "每天早上六点就有人放音乐"),
            ("吵得无法休息", "家里有老人和婴儿", "已经影响正常生活"),
            ("已约谈商户，音响已调小并移入室内", "已劝导，约定晚九点后停止播放", "已现场处置，噪声已消除"),
            channels=("hotline", "police110", "wechat", "mailbox")),
    Problem("event:08001", "社会事务/噪声扰民/施工噪声", 4, "compound",
            ("{where}夜间施工噪声", "{where}工地施工扰民", "{where}装修噪声扰民"),
            ("旁边工地晚上十一点还在施工", "工地凌晨就开始打桩", "楼上装修周末一直在电钻"),
            ("整夜睡不好", "孩子要中考，没法复习", "多次找工地没有结果"),
            ("已责令工地停止夜间施工，并核查夜间施工许可", "已约谈施工单位，调整作业时间", "已协调装修方按规定时间施工"),
            urgent=0.1, channels=("hotline", "police110", "wechat", "mailbox")),
    Problem("event:06001", "房屋住建/违法建设/私搭乱建", 3, "compound",
            ("{where}私搭乱建", "{where}一楼住户违规扩建", "{where}楼顶违章搭建"),
            ("小区绿地被圈起来建了棚子", "一楼住户把院子围起来搭了一间房", "楼顶有人搭建了彩钢板房"),
            ("占用了公共空间", "存在消防隐患", "挡住了其他住户的采光"),
            ("已下达限期整改通知，当事人已自行拆除", "已依法拆除违法搭建", "已立案调查，督促当事人拆除"),
            channels=("hotline", "grid", "mailbox")),
    Problem("event:08004", "市容环境/环境卫生/道路保洁", 2, "road",
            ("{where}工地扬尘", "{where}{spot}渣土遗撒", "{where}工地出入口道路污染"),
            ("工地没有覆盖防尘网，风一吹全是灰", "渣土车经过路面全是泥", "工地车辆带泥上路"),
            ("窗户都不敢开", "路面很滑，容易出事故", "附近都是住户"),
            ("已督促工地覆盖裸土并冲洗出入车辆", "已清扫路面并约谈渣土运输单位", "已责令整改，现场已落实降尘措施"),
            channels=("grid", "city_mgmt", "hotline")),
    Problem("event:04002", "道路交通/道路设施/行道树倒伏", 2, "road",
            ("{where}行道树倾斜", "{where}{spot}树枝断落", "{where}行道树遮挡路灯"),
            ("一棵行道树被风吹歪，快倒了", "有一根大树枝断了挂在半空", "树枝长得太密，把路灯全挡住了"),
            ("随时可能砸到行人和车辆", "树下经常停车", "晚上路面很暗"),
            ("已扶正树木并加固支撑", "已修剪断枝并清运", "已修剪树冠，路灯照明恢复"),
            urgent=0.25),
    Problem("event:06036", "市容环境/环境卫生/道路保洁", 3, "compound",
            ("{where}楼道堆放杂物", "{where}{spot}乱堆杂物", "{where}消防通道堆物"),
            ("楼道里堆满了旧家具和纸板", "有人在小区空地上堆放建材", "消防通道被杂物堵住"),
            ("存在火灾隐患", "影响邻居进出", "物业不管"),
            ("已督促物业清理楼道杂物", "已清理完毕，并开展消防安全宣传", "已联系堆物人自行清理")),
    Problem("event:06027", "市容环境/环境卫生/道路保洁", 2, "market",
            ("{where}餐馆油烟扰民", "{where}{spot}油烟直排", "{where}烧烤油烟污染"),
            ("楼下饭店的油烟直接往上排", "餐馆没有装油烟净化设备，油烟直接排到街上", "烧烤摊的烟飘进家里"),
            ("家里全是油烟味", "晾的衣服都不能穿", "老人咳嗽加重"),
            ("已责令商户安装油烟净化装置", "已检查整改，油烟管道已改造", "已依法处理，商户已停止露天烧烤"),
            channels=("hotline", "mailbox", "wechat")),
    Problem("event:09012", "房屋住建/物业管理/小区绿化", 2, "compound",
            ("{where}占用消防通道", "{where}{spot}消防通道被堵", "{where}消防通道停车"),
            ("有人在消防通道上堆放电动车", "消防通道被地锁占了", "消防通道上长期停着几辆车"),
            ("万一着火消防车进不来", "物业劝了也没用", "已经堵了一个多月"),
            ("已联合物业清理消防通道上的电动车", "已拆除违规地锁", "已移走违停车辆并设置禁停标识"),
            urgent=0.15),
    Problem("component:03005", "市容环境/环境卫生/垃圾桶满溢", 2, "road",
            ("{where}{spot}垃圾箱损坏", "{where}果皮箱缺失", "{where}垃圾箱破损"),
            ("路边的垃圾箱盖子坏了", "原来的果皮箱被撞坏拿走了", "垃圾箱底部烂了，垃圾漏一地"),
            ("路人只能随手乱扔", "下雨时污水流到人行道上", "影响市容"),
            ("已更换新垃圾箱", "已补设果皮箱", "已维修垃圾箱")),
    Problem("event:02014", "道路交通/交通秩序/公交线路", 2, "road",
            ("{where}交通信号灯故障", "{where}{spot}红绿灯不亮", "{where}信号灯时间过短"),
            ("路口红绿灯一直黄灯闪烁", "信号灯有一面不亮了", "行人绿灯只有十几秒，老人过不去"),
            ("车辆和行人抢行，非常危险", "高峰期路口很乱", "已经发生过剐蹭"),
            ("已维修信号灯，恢复正常运行", "已更换信号灯灯组", "已调整信号配时，延长行人绿灯时间"),
            urgent=0.3, channels=("hotline", "police110", "city_mgmt")),
    Problem("event:06034", "市容环境/市容秩序/违规晾晒", 1, "compound",
            ("{where}废弃车辆长期停放", "{where}{spot}僵尸车", "{where}废弃电动车堆放"),
            ("有一辆落满灰的汽车停了半年没动", "路边停着一辆没有牌照的破车", "车棚里有很多废弃的自行车和电动车"),
            ("占用了停车位", "影响小区环境", "可能有安全隐患"),
            ("已张贴告知书，车主已自行移走", "已联系交警拖移", "已清理废弃车辆")),
    Problem("event:10001", "咨询建议/意见建议/城市管理建议", 1, "road",
            ("{where}道路结冰", "{where}{spot}积雪未清", "{where}桥面结冰"),
            ("路面结了一层冰，很滑", "人行道积雪没人清扫", "上坡路段结冰，车辆打滑"),
            ("早上已有人摔倒", "孩子上学很危险", "车辆通行困难"),
            ("已撒布融雪剂并清扫积雪", "已组织人员铲冰除雪", "已清除积雪，设置防滑提示"),
            urgent=0.4),
    Problem("event:06030", "公用事业/供水供电/停水", 1, "compound",
            ("{where}污水外溢", "{where}{spot}下水道堵塞", "{where}{spot}雨水口堵塞积水"),
            ("小区下水道堵了，污水从井口冒出来", "楼下管道堵塞，一楼返水", "路边雨水口被堵，下雨就积水"),
            ("味道很难闻", "一楼住户家里进了污水", "积水没过脚踝"),
            ("已疏通管道并清理现场", "已疏通管道，一楼返水问题已解决", "已疏通雨水口"),
            urgent=0.35),
)


def pick_problem(rng: random.Random, channel: str) -> Problem:
    """A problem weighted by how common it is; a channel's own kinds of problem count double."""
    weights = [p.weight * (2 if not p.channels or channel in p.channels else 0.5) for p in PROBLEMS]
    return rng.choices(PROBLEMS, weights)[0]


OPENINGS = {
    "hotline": ("市民来电反映：", "来电人反映：", "市民致电12345反映："),
    "grid": ("网格员巡查发现：", "网格员日常巡查时发现："),
    "city_mgmt": ("城管监督员上报：", "数字城管监督员巡查发现："),
    "police110": ("110转来非警务警情：", "110联动转办："),
    "mailbox": ("市民来信反映：", "市长信箱来信："),
    "wechat": ("市民通过微信公众号反映：", "微信留言："),
    "weibo": ("网民在政务微博留言：", "微博网友反映："),
    "open311": ("市民通过手机应用上报：",),
}


def write_report(problem: Problem, place: Place, channel: str, rng: random.Random,
                 variant: int | None = None) -> tuple[str, str, int]:
    """A title and a description in the words of the channel, and which variant of the problem
    they tell (its title, what was seen and what was done go together)."""
    if variant is None:
        variant = rng.randrange(len(problem.titles))
    title = problem.titles[variant].format(where=place.name, spot=place.spot)
    detail = problem.details[variant % len(problem.details)]
    opening = rng.choice(OPENINGS.get(channel, OPENINGS["hotline"]))
    if channel in ("grid", "city_mgmt"):  # an inspector's report: what and where, no complaint
        wish = rng.choice(("请派遣处置。", "已拍照取证，请相关部门处置。"))
        return title[:200], f"{opening}{place.address}，{detail}。{wish}", variant
    impact = rng.choice(problem.impacts)
    wish = rng.choice(("希望尽快处理。", "请有关部门尽快处理。", "希望相关部门来看一下。", "盼复。"))
    return title[:200], f"{opening}在{place.address}，{detail}，{impact}。{wish}", variant


def handling_notes(problem: Problem, variant: int) -> str:
    """What the unit reports it did about that variant of the problem."""
    return problem.handling[variant % len(problem.handling)]


def repeat_report(problem: Problem, place: Place, channel: str, rng: random.Random, days: int, variant: int) -> str:
    """A second report of a problem someone already reported: it says it is still there."""
    detail = problem.details[variant % len(problem.details)]
    again = f"前{days}天已经反映过，" if days > 0 else "刚才已经反映过，"
    return (f"{rng.choice(OPENINGS.get(channel, OPENINGS['hotline']))}在{place.address}，{detail}，"
            f"{again}到现在还没有解决，希望尽快处理。")


RETURN_REASONS = ("经核实该问题不属于本单位职责，请重新派遣", "该点位不在本单位管辖范围，属地不符", "权属不清，需明确责任主体后再派")
EXTENSION_REASONS = ("需协调产权单位共同处置，申请延期", "需采购配件，预计到货后完成", "需办理占道施工手续，申请延期",
                     "涉及多户居民，需逐户沟通")
ESCALATE_REASONS = ("涉及多个部门，本级无法协调解决", "需要上级统筹处置", "问题反复出现，需上级督办")
PARK_REASONS = ("需纳入年度改造计划，暂时无法解决，已向群众解释", "涉及历史遗留产权问题，待相关部门研究",
                "需待财政资金到位后实施")
URGE_TEXTS = ("群众多次来电催问，请加快办理", "即将超期，请抓紧办理并及时反馈", "已超期，请立即办理并说明原因")
UNSATISFIED = ("问题还没有彻底解决", "处理不及时，过几天又出现了", "只是临时处理，没有根本解决")
SATISFIED_NOTES = ("已解决，表示满意", "处理及时，感谢", "问题已解决")
REINSPECT = ("现场复查仍有问题，需返工", "整改不到位，问题依旧存在", "现场未按要求处置完毕")


# -------------------------------------------------------------------- photos

def demo_photo(tag: str, colour: tuple[int, int, int]) -> tuple[str, bytes]:
    """A small plain PNG that stands in for a site photo, named so nobody takes it for a real one."""
    width, height = 96, 72
    r, g, b = colour
    rows = []
    for y in range(height):
        band = (y * 4 // height) % 2
        shade = (max(r - 40 * band, 0), max(g - 40 * band, 0), max(b - 40 * band, 0))
        rows.append(b"\x00" + bytes(shade) * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    return f"示范数据-{tag}.png", png
