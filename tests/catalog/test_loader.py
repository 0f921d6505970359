"""Loading catalogue versions: same content creates nothing, changed content a new active version,
old versions stay for the cases classified with them; bad files are refused before anything is stored."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.catalog import service
from app.catalog.demo import demo_paths, load_demo_topics
from app.catalog.files import MAX_BYTES
from app.catalog.models import GB_DIRECTORY, TOPICS_12345, CatalogCategory, CatalogTopic, CatalogVersion
from app.catalog.operations import (SHIPPED_DIRECTORY, activate_version, import_topics, load_directory,
                                    topic_code)
from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.core.errors import ValidationFailed

SHIPPED = SHIPPED_DIRECTORY.read_bytes()


def _versions(catalog: str) -> list[tuple[int, bool]]:
    return [(v.version, v.active) for v in session.scalars(
        select(CatalogVersion).where(CatalogVersion.catalog == catalog).order_by(CatalogVersion.version))]


def test_the_shipped_directory_loads_once(catalog_app: Flask) -> None:
    with catalog_app.app_context():
        with transaction():
            first = load_directory()
        assert first.created and first.active and first.version == 1 and first.row_count == 403
        with transaction():
            again = load_directory()
        assert not again.created and again.version == 1 and again.sha256 == first.sha256
        assert _versions(GB_DIRECTORY) == [(1, True)]
        kinds = dict(session.execute(select(CatalogCategory.kind, func.count()).group_by(CatalogCategory.kind)).all())
        assert kinds == {"component": 153, "event": 250}
        loaded = session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog_loaded")).all()
        assert [e.detail["version"] for e in loaded] == [1]
        assert loaded[0].detail["rows"] == 403 and loaded[0].detail["catalog"] == GB_DIRECTORY

        cover = service.lookup_category("component:01002")
        assert cover is not None and (cover.name, cover.major_code, cover.major_class, cover.version) == \
            ("污水井盖", "01", "市政公用设施", 1)
        assert cover.initials == "wsjg"
        event = service.lookup_category("event:06010")
        assert event is not None and event.kind == "event" and event.major_class == "市容环境类"
        for unknown in ("event:99999", "component:06010", "06010", "", None):
            assert service.lookup_category(unknown) is None


def test_order_line_endings_and_bom_do_not_make_a_new_version(catalog_app: Flask) -> None:
    header, *lines = SHIPPED.decode("utf-8").splitlines()
    shuffled = "\ufeff" + "\r\n".join([header, *reversed(lines)]) + "\r\n"
    with catalog_app.app_context():
        with transaction():
            load_directory()
        with transaction():
            result = load_directory(shuffled.encode("utf-8"), "shuffled.csv")
        assert not result.created and _versions(GB_DIRECTORY) == [(1, True)]


def test_changed_content_is_a_new_active_version_and_old_keys_stay_known(catalog_app: Flask) -> None:
    text = SHIPPED.decode("utf-8")
    changed = "\n".join(line for line in text.splitlines() if ",01002,component," not in line) \
        .replace("暴露垃圾", "暴露垃圾（含散落垃圾）")
    assert changed != text
    with catalog_app.app_context():
        with transaction():
            load_directory()
        assert service.lookup_category("component:01002") is not None  # index built on version 1
        with transaction():
            result = load_directory(changed.encode("utf-8"), "edition-2.csv")
        assert result.created and result.active and result.version == 2 and result.row_count == 402
        assert _versions(GB_DIRECTORY) == [(1, False), (2, True)]
        # the index follows the commit: the key is gone from the active directory...
        assert service.lookup_category("component:01002") is None
        assert service.lookup_category("event:06010").name == "暴露垃圾（含散落垃圾）"  # type: ignore[union-attr]
        # ...but a case classified with it still finds what it was
        old = service.lookup_category("component:01002", include_retired=True)
        assert old is not None and old.name == "污水井盖" and old.version == 1 and not old.active
        assert service.active_versions()[GB_DIRECTORY].version == 2
        assert session.scalar(select(func.count()).select_from(CatalogCategory)) == 403 + 402

        # the set-up chain loads the shipped file again: that must not undo the newer edition
        with transaction():
            shipped = load_directory()
        assert not shipped.created and not shipped.active and shipped.version == 1
        assert _versions(GB_DIRECTORY) == [(1, False), (2, True)]
        # ...unless asked to
        with transaction():
            back = load_directory(activate=True)
        assert back.activated and back.active and _versions(GB_DIRECTORY) == [(1, True), (2, False)]
        assert service.lookup_category("component:01002") is not None
        with transaction():
            activate_version(GB_DIRECTORY, 2, "cli")
        assert service.lookup_category("component:01002") is None
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("catalog_%"))
                                  .order_by(AuditEvent.id)).all()
        assert actions == ["catalog_loaded", "catalog_loaded", "catalog_activated", "catalog_activated"]


def test_a_refused_load_stores_nothing_and_keeps_the_index(catalog_app: Flask) -> None:
    with catalog_app.app_context():
        with transaction():
            load_directory()
        before = service.catalogue()
        bad = SHIPPED.decode("utf-8").replace(",01003,", ",1003,").replace(",01004,component", ",01004,widget")
        with pytest.raises(ValidationFailed) as refused, transaction():
            load_directory(bad.encode("utf-8"), "bad.csv")
        messages = refused.value.errors["file"]  # type: ignore[index]
        assert any("line 4" in m and "5 digits" in m for m in messages), messages
        assert any("line 5" in m and "component or event" in m for m in messages), messages
        assert _versions(GB_DIRECTORY) == [(1, True)]
        assert service.catalogue().active_ids == before.active_ids


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"code,name\n01001,x\n", "header"),
    ("standard,code,kind,major_class,name\n".encode(), "no rows"),
    ("standard,code,kind,major_class,name\nGB,01001,component,,供水井盖\n".encode(), "major_class is empty"),
    ("standard,code,kind,major_class,name\nGB,01001,component,类\nGB,01002,component,类,名\n".encode(), "5 columns"),
    ("standard,code,kind,major_class,name\nGB,01001,component,类,甲\nGB,01001,component,类,乙\n".encode(), "twice"),
])
def test_bad_directory_files_are_refused(catalog_app: Flask, content: bytes, expected: str) -> None:
    with catalog_app.app_context(), pytest.raises(ValidationFailed) as refused:
        load_directory(content, "bad.csv")
    assert any(expected in m for m in refused.value.errors["file"]), refused.value.errors  # type: ignore[index]


# ---------------------------------------------------------------------------- 12345 topic tree

def test_import_the_real_topic_tree(catalog_app: Flask, shared_topics: Path) -> None:
    data = shared_topics.read_bytes()
    with catalog_app.app_context():
        with transaction():
            result = import_topics(data, shared_topics.name)
        assert result.created and result.active and result.version == 1
        levels = dict(session.execute(select(CatalogTopic.level, func.count()).group_by(CatalogTopic.level)).all())
        assert levels[1] == 15 and levels[3] == 517 and result.row_count == sum(levels.values())
        with transaction():
            assert not import_topics(data, "again.csv").created

        leaf = service.lookup_topic(topic_code(("城乡建设", "安全生产", "事故处理")))
        assert leaf is not None and leaf.level == 3 and leaf.leaf and leaf.path_name == "城乡建设/安全生产/事故处理"
        assert service.lookup_topic("城乡建设/安全生产") == service.lookup_topic(leaf.parent_code)
        assert service.lookup_topic("城乡建设/安全生产").leaf is False  # type: ignore[union-attr]
        assert service.lookup_topic("nope") is None

        # a changed tree is a new version; a topic keeps its code across versions
        extra = data.decode("utf-8-sig").rstrip("\n") + "\n城乡建设,安全生产,高空坠物\n"
        with transaction():
            second = import_topics(extra.encode("utf-8"), "taxonomy-2.csv")
        assert second.created and second.version == 2 and second.row_count == result.row_count + 1
        assert service.lookup_topic(leaf.code) is not None and service.lookup_topic(leaf.code).version == 2  # type: ignore[union-attr]
        assert _versions(TOPICS_12345) == [(1, False), (2, True)]


def test_topic_files_as_excel_saves_them_are_read() -> None:
    from app.catalog.files import read_topics
    data = "一级分类,二级分类,三级分类,\r\n 城乡建设 ,市政管理,路灯不亮,,\r\n\r\n城乡建设,市政管理,路灯不亮\r\n"
    expected = [("城乡建设", "市政管理", "路灯不亮")]  # GBK, trailing empty cells, spaces, blank lines, repeats
    assert read_topics(data.encode("gb18030")) == expected
    assert read_topics(("\ufeff" + data).encode("utf-8")) == expected


@pytest.mark.parametrize("content, expected", [
    (b"", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "not a text (CSV) file"),
    (b"a" * (MAX_BYTES + 1), "larger than 2 MB"),
    ("名称,代码\n井盖,1\n".encode(), "the header must be '一级分类,二级分类,三级分类'"),
    ("一级分类,二级分类,三级分类\n".encode(), "no rows"),
    ("一级分类,二级分类,三级分类\n城乡建设,,路灯\n城乡建设,市政\n".encode(),
     "line 2: level 2 name is empty"),
    ("一级分类,二级分类,三级分类\n城乡建设,市政\n".encode(), "line 2: expected 3 columns, found 2"),
    ("一级分类,二级分类,三级分类\n城乡建设,市政/公用,路灯\n".encode(), "contains '/'"),
])
def test_bad_topic_files_are_refused_with_a_clear_message(catalog_app: Flask, content: bytes, expected: str) -> None:
    with catalog_app.app_context():
        with pytest.raises(ValidationFailed) as refused, transaction():
            import_topics(content, "bad.csv")
        messages = refused.value.errors["file"]  # type: ignore[index]
        assert any(expected in m for m in messages), messages
        assert all(" / " in m for m in messages)  # Chinese / English
        assert _versions(TOPICS_12345) == []


def test_many_bad_lines_are_summed_up(catalog_app: Flask) -> None:
    rows = "".join("城乡建设,,路灯\n" for _ in range(25))
    with catalog_app.app_context(), pytest.raises(ValidationFailed) as refused:
        import_topics(("一级分类,二级分类,三级分类\n" + rows).encode(), "bad.csv")
    messages = refused.value.errors["file"]  # type: ignore[index]
    assert len(messages) == 11 and "15 more errors" in messages[-1]


def test_demo_topics_load_once_and_never_over_a_real_tree(catalog_app: Flask, app: Flask) -> None:
    with app.app_context():  # the session's shared database: `flask demo load` loaded the demo tree
        demo = service.active_versions().get(TOPICS_12345)
        assert demo is not None and "demo" in demo.source
        assert service.search_topics("ljt")[0].name == "垃圾桶满溢"
    assert 25 <= len(demo_paths()) <= 40 and len({p[0] for p in demo_paths()}) == 6
    with catalog_app.app_context():
        with transaction():
            import_topics("一级分类,二级分类,三级分类\n城乡建设,市政,路灯\n".encode(), "city.csv")
        with transaction():
            assert load_demo_topics() is None
        assert _versions(TOPICS_12345) == [(1, True)]


# ---------------------------------------------------------------------------- command line

def test_cli_load_import_versions_search(catalog_app: Flask, tmp_path: Path) -> None:
    runner = catalog_app.test_cli_runner()
    result = runner.invoke(args=["catalog", "load"])
    assert result.exit_code == 0 and "gb47678_5 version 1 loaded: 403 rows, active" in result.output, result.output
    result = runner.invoke(args=["catalog", "load"])
    assert result.exit_code == 0 and "version 1 unchanged" in result.output

    topics = tmp_path / "topics.csv"
    topics.write_text("一级分类,二级分类,三级分类\n城乡建设,城市管理,井盖丢失\n城乡建设,城市管理,路灯不亮\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import-topics", str(topics)])
    assert result.exit_code == 0 and "topics_12345 version 1 loaded: 4 rows" in result.output, result.output

    result = runner.invoke(args=["catalog", "versions"])
    assert result.exit_code == 0
    assert "* gb47678_5     v1" in result.output and "* topics_12345  v1" in result.output

    result = runner.invoke(args=["catalog", "search", "jg", "--kind", "component", "--limit", "3"])
    assert result.exit_code == 0 and result.output.splitlines()[0].startswith("component:")
    assert "供水井盖" in runner.invoke(args=["catalog", "search", "jinggai"]).output
    assert "井盖丢失" in runner.invoke(args=["catalog", "search", "jgds", "--topics"]).output

    bad = tmp_path / "bad.csv"
    bad.write_text("名称\n井盖\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import-topics", str(bad)])
    assert result.exit_code != 0 and "the header must be" in result.output
    result = runner.invoke(args=["catalog", "import-topics", str(tmp_path / "missing.csv")])
    assert result.exit_code != 0 and "cannot read" in result.output
    result = runner.invoke(args=["catalog", "activate", "gb47678_5", "7"])
    assert result.exit_code != 0 and "has no version 7" in result.output
