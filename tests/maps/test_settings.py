"""A real city's tile server: TONGGUAN_MAP_TILE_URL is checked at start-up and allowed by the CSP."""
from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, load_settings

TILES = "https://{s}.tiles.example.gov.cn/{z}/{x}/{y}.png"


@pytest.mark.parametrize("overrides, message", [
    ({"MAP_TILE_URL": "https://tiles.example.gov.cn/tiles.png", "MAP_TILE_ATTRIBUTION": "x"}, "{z}, {x} and {y}"),
    ({"MAP_TILE_URL": "ftp://tiles.example.gov.cn/{z}/{x}/{y}.png", "MAP_TILE_ATTRIBUTION": "x"}, "http"),
    ({"MAP_TILE_URL": "https://a.example; script-src *; /{z}/{x}/{y}", "MAP_TILE_ATTRIBUTION": "x"}, "MAP_TILE_URL"),
    ({"MAP_TILE_URL": TILES}, "MAP_TILE_ATTRIBUTION"),
    ({"MAP_TILE_MAX_ZOOM": 30}, "MAP_TILE_MAX_ZOOM"),
])
def test_a_bad_tile_setting_stops_the_start(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_settings({"ENV": "testing", **overrides})


def test_tiles_of_this_server_or_another_one(tmp_path: Path) -> None:
    assert load_settings({"ENV": "testing", "MAP_TILE_URL": "/tiles/{z}/{x}/{y}.png",
                          "MAP_TILE_ATTRIBUTION": "© 本市测绘院"}).map_tile_origin is None
    settings = load_settings({"ENV": "testing", "MAP_TILE_URL": TILES, "MAP_TILE_ATTRIBUTION": "© 本市测绘院"})
    assert settings.map_tile_origin == "https://*.tiles.example.gov.cn"
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite", "SECRET_KEY": "m" * 40,
                      "MAP_TILE_URL": TILES, "MAP_TILE_ATTRIBUTION": "© 本市测绘院"})
    csp = app.test_client().get("/static/app.css").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tiles.example.gov.cn;" in csp and "script-src 'self';" in csp
    app.extensions["db_engine"].dispose()
