"""``flask hotspots evaluate`` on a small file written for the test, and on the real messages when present."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from app.hotspots.cli import DEFAULT_MESSAGES

SAMPLE = Path(__file__).parents[1] / "data" / "hotspots_messages.csv"


def test_the_command_prints_the_recurring_problems_with_their_columns(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["hotspots", "evaluate", "--csv", str(SAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["hotspots"]
    assert [(r["place"], r["messages"], r["likes"]) for r in rows] == [("金色港湾小区", 2, 41), ("锦绣江南小区", 3, 8)]
    noise = rows[1]
    assert noise["ids"] == "1 2 3" and noise["people"] == "业主" and noise["users"] == 3
    assert noise["time_range"] == "2026-03-01 – 2026-03-08"
    assert "施工" in noise["description"]
    plain = app.test_cli_runner().invoke(args=["hotspots", "evaluate", "--csv", str(SAMPLE), "--top", "1"])
    assert plain.exit_code == 0 and "金色港湾小区" in plain.output and "锦绣江南小区" not in plain.output


def test_a_file_without_the_columns_is_refused(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\n1,hello\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["hotspots", "evaluate", "--csv", str(bad)])
    assert result.exit_code != 0 and "no column" in result.output


@pytest.mark.skipif(not DEFAULT_MESSAGES.is_file(), reason="the real messages (../shared/data) are not here")
def test_the_real_messages_give_five_hot_spots(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["hotspots", "evaluate", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["messages"] == 4326
    rows = answer["hotspots"]
    assert len(rows) == 5
    assert all(r["messages"] >= 5 and r["users"] >= 3 for r in rows)
    assert any("搅拌站" in r["description"] for r in rows)  # the 丽发新城 concrete plant: dozens of neighbours
