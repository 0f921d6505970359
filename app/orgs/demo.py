"""The demo city: 2 districts × 2 streets × 2 communities, departments at city and district level,
and users for every role at each relevant unit. Password ``demo``; only for development/testing.

The names are invented; nothing here is real personal data.
"""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.core.db import session
from app.orgs.models import OrgUnit, RoleAssignment, User
from app.orgs.operations import create_unit

DEPARTMENTS = {
    "sz": ("市政市容", "Municipal Utilities"),
    "jt": ("交通运输", "Transport"),
    "hw": ("环境卫生", "Sanitation"),
    "yl": ("园林绿化", "Landscaping"),
    "cg": ("城管执法", "City Management Enforcement"),
    "zj": ("住房建设", "Housing and Construction"),
    "zh": ("综合办公室", "General Office"),
}
DISTRICTS = {
    "d1": ("东湖区", "Donghu District", 31.23, 121.50,
           {"s1": ("湖滨街道", "Hubin Street", ("滨江社区", "望湖社区")),
            "s2": ("新港街道", "Xingang Street", ("港东社区", "港西社区"))}),
    "d2": ("西山区", "Xishan District", 31.20, 121.40,
           {"s1": ("枫林街道", "Fenglin Street", ("枫林社区", "桂园社区")),
            "s2": ("龙华镇", "Longhua Town", ("龙华村", "永安社区"))}),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"


def load_demo() -> int:
    """Create the demo org tree and users unless present; returns the number of users created."""
    from app.catalog.demo import load_demo_topics
    load_demo_topics()  # a small 12345 topic tree, unless one is loaded already
    from app.open311.operations import ensure_demo_key
    ensure_demo_key()  # the Open311 api_key "demo" (docs/open311.md), unless it exists
    if session.scalar(select(User.id).where(User.username == "demo_operator")):
        _demo_boundaries()
        return 0
    units: dict[str, OrgUnit] = {}
    city = units["city"] = create_unit("city", "示范市", "city", None, name_en="Demo City", lat=31.22, lng=121.46)
    for dtype, (zh, en) in DEPARTMENTS.items():
        units[f"city-{dtype}"] = create_unit(f"city-{dtype}", f"市{zh}局" if dtype != "zh" else "市城运中心综合办",
                                             "department", city, name_en=f"City {en} Bureau", dept_type=dtype)
    for dcode, (dzh, den, lat, lng, streets) in DISTRICTS.items():
        district = units[dcode] = create_unit(dcode, dzh, "district", city, name_en=den, lat=lat, lng=lng)
        for dtype, (zh, en) in DEPARTMENTS.items():
            code = f"{dcode}-{dtype}"
            units[code] = create_unit(code, f"{dzh}{zh}局" if dtype != "zh" else f"{dzh}综合办", "department",
                                      district, name_en=f"{den} {en} Bureau", dept_type=dtype)
        for si, (scode, (szh, sen, communities)) in enumerate(streets.items()):
            street = units[f"{dcode}-{scode}"] = create_unit(
                f"{dcode}-{scode}", szh, "street", district, name_en=sen,
                lat=lat + 0.02 * (si - 0.5), lng=lng + 0.02 * (si - 0.5))
            for ci, czh in enumerate(communities):
                code = f"{dcode}-{scode}-c{ci + 1}"
                units[code] = create_unit(code, czh, "community", street, name_en=f"{sen} Community {ci + 1}",
                                          lat=(street.lat or 0) + 0.008 * (ci - 0.5), lng=(street.lng or 0) + 0.008 * (ci - 0.5))

    password_hash = generate_password_hash("demo")  # one hash for all demo users keeps loading fast
    people: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("demo_operator", "受理员", [("operator", "city")]),
        ("demo_dispatcher", "派遣员", [("dispatcher", "city")]),
        ("demo_supervisor", "督办员", [("supervisor", "city")]),
        ("demo_leader", "市领导", [("leader", "city")]),
        ("demo_designer", "流程设计员", [("designer", "city")]),
        ("demo_admin", "系统管理员", [("admin", "city")]),
        ("demo_grid_worker", "网格员", [("grid_worker", "d1-s1-c1")]),
        ("demo_handler", "处置员", [("handler", "d1-sz")]),
        ("operator_2", "受理员", [("operator", "city")]),
        ("dispatcher_2", "派遣员", [("dispatcher", "city")]),
    ]
    for dcode in DISTRICTS:
        for role, label in (("dispatcher", "区派遣员"), ("supervisor", "区督办员"), ("leader", "区领导")):
            people.append((f"{role}_{dcode}", label, [(role, dcode)]))
    for code, unit in units.items():
        slug = code.replace("-", "_")
        if unit.kind == "department" and code != "d1-sz":
            people.append((f"handler_{slug}", "处置员", [("handler", code)]))
        elif unit.kind == "street":
            people.append((f"supervisor_{slug}", "街道督办员", [("supervisor", code)]))
            people.append((f"handler_{slug}", "街道处置员", [("handler", code)]))
            people.append((f"dispatcher_{slug}", "街道派遣员", [("dispatcher", code)]))
        elif unit.kind == "community":
            if code != "d1-s1-c1":
                people.append((f"grid_{slug}", "网格员", [("grid_worker", code)]))
            people.append((f"handler_{slug}", "社区处置员", [("handler", code)]))
            people.append((f"dispatcher_{slug}", "社区工作站派遣员", [("dispatcher", code)]))
    for i, (username, label, roles) in enumerate(people):
        first_unit = units[roles[0][1]]
        user = User(username=username, display_name=f"{SURNAMES[i % len(SURNAMES)]}{label}（{first_unit.name}）",
                    password_hash=password_hash, locale="zh")
        session.add(user)
        session.flush()
        for role, code in roles:
            session.add(RoleAssignment(user_id=user.id, role=role, org_unit_id=units[code].id, unit_path=units[code].path))
    session.flush()
    _demo_boundaries()
    return len(people)


def _demo_boundaries() -> None:
    """Schematic boundaries of the demo city for its maps (marked as such), unless it has boundaries."""
    from app.maps.operations import load_demo_boundaries
    load_demo_boundaries()
