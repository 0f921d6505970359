"""What the demo history writes (app/demo/content.py): categories and topics that exist, addresses
inside their community, invented people, photos that pass the photo check."""
from __future__ import annotations

import csv
import random

import filetype

from app.catalog.demo import demo_paths
from app.config import ROOT
from app.demo import content


def test_every_problem_names_a_category_and_a_topic_that_exist() -> None:
    with (ROOT / "app" / "catalog" / "data" / "gb47678_5_directory.csv").open(encoding="utf-8") as fh:
        keys = {f"{r['kind']}:{r['code']}" for r in csv.DictReader(fh)}
    topics = {"/".join(p) for p in demo_paths()}
    for problem in content.PROBLEMS:
        assert problem.category in keys, problem.category
        assert problem.topic in topics, problem.topic
        assert all("{where}" in t for t in problem.titles)


def test_places_lie_in_their_community_and_read_like_addresses() -> None:
    rng = random.Random(1)
    communities = [content.Community("d1-s1-c1", "东湖区", "湖滨街道", "滨江社区", (31.20, 121.48, 31.21, 121.49)),
                   content.Community("d1-s1-c2", "东湖区", "湖滨街道", "望湖社区", (31.22, 121.50, 31.23, 121.51))]
    content.name_places(communities, rng)
    names = [n for c in communities for n in (*c.roads, *c.compounds)]
    assert len(names) == len(set(names)), "no two places share a name"
    for _ in range(200):
        c = rng.choice(communities)
        place = content.pick_place(c, rng.choice(("road", "compound", "market")), rng)
        s, w, n, e = c.box
        assert s < place.lat < n and w < place.lng < e
        assert place.address.startswith("示范市东湖区湖滨街道") and place.community == c.code
        problem = rng.choice(content.PROBLEMS)
        title, description, variant = content.write_report(problem, place, rng.choice(("hotline", "grid")), rng)
        assert place.address in description and 0 < len(title) <= 200
        assert title == problem.titles[variant].format(where=place.name, spot=place.spot)
        assert problem.details[variant] in description, "the title and what was seen go together"


def test_reporters_are_invented_and_their_numbers_from_the_demo_range() -> None:
    rng = random.Random(2)
    for _ in range(200):
        person = content.reporter(rng)
        assert person.phone.startswith("1380000") and len(person.phone) == 11 and person.phone.isdigit()
        assert person.name[0] in content.SURNAMES and 2 <= len(person.name) <= 3


def test_demo_photos_are_pngs_named_as_demo_data() -> None:
    name, data = content.demo_photo("处置前", (170, 120, 90))
    assert name == "示范数据-处置前.png"
    assert filetype.guess(data).mime == "image/png"


def test_the_history_starts_months_back_at_local_midnight() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.demo.history import month_start_back
    zone = ZoneInfo("Asia/Shanghai")
    start = month_start_back(datetime(2026, 12, 3, 10, 30, tzinfo=zone), 3)
    assert start == datetime(2026, 9, 3, tzinfo=zone)
    assert month_start_back(datetime(2026, 3, 31, 1, 0, tzinfo=zone), 1) == datetime(2026, 2, 28, tzinfo=zone)
    assert month_start_back(datetime(2026, 1, 15, tzinfo=zone), 13) == datetime(2024, 12, 15, tzinfo=zone)
