"""One settings object for the whole application, checked at start-up.

Values come from the environment (``TONGGUAN_*`` or the usual names such as ``DATABASE_URL``
and ``SECRET_KEY``); every setting has a checked default, and the demo data and demo passwords
exist only in the ``development`` environment.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core.geo import Area
from app.sla.calendar import Period, WorkingCalendar, parse_periods

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """A setting is missing or has a value the application cannot run with."""


@dataclass
class Settings:
    ENV: str = "development"
    SECRET_KEY: str = ""
    DATABASE_URL: str = f"sqlite:///{ROOT / 'instance' / 'tongguan.sqlite'}"
    PROCESS_DIR: Path = ROOT / "processes"
    RULES_DIR: Path = ROOT / "rules"
    FORMS_DIR: Path = ROOT / "forms"
    CASE_PROCESS_ID: str = "seven_step_loop"
    DISPATCH_UNIT: str = "city"
    TOKEN_MAX_AGE: int = 12 * 3600  # seconds an API token lives (absolute; revocable before)
    #: browser sessions (docs/security.md): logged out after this idle time, and this long after login
    SESSION_IDLE_TIMEOUT: int = 30 * 60
    SESSION_MAX_AGE: int = 12 * 3600
    #: login throttling: from the LOGIN_MAX_FAILURES-th failure for one username (or the
    #: LOGIN_MAX_FAILURES_IP-th from one client address) the name (address) is locked LOGIN_LOCKOUT
    #: seconds, doubled with each further failure up to LOGIN_LOCKOUT_MAX; a counter starts over
    #: after LOGIN_WINDOW quiet seconds
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_MAX_FAILURES_IP: int = 20
    LOGIN_WINDOW: int = 15 * 60
    LOGIN_LOCKOUT: int = 60
    LOGIN_LOCKOUT_MAX: int = 3600
    #: device cookies: a browser that logged in as a user gets a signed cookie naming them; with it
    #: that user's logins are exempt from the username and address locks above, until it has
    #: LOGIN_DEVICE_MAX_FAILURES wrong passwords in a row; it lasts LOGIN_DEVICE_MAX_AGE seconds
    #: after the last login that used or made it
    LOGIN_DEVICE_MAX_FAILURES: int = 5
    LOGIN_DEVICE_MAX_AGE: int = 90 * 86400
    PASSWORD_MIN_LENGTH: int = 12  # for passwords set from now on (ASVS 2.1.1 at level 2)
    #: reverse proxies in front of the app that set X-Forwarded-For/-Proto (0: none; the client
    #: address of the login throttle is then the peer's address)
    TRUSTED_PROXIES: int = 0
    DEFAULT_LOCALE: str = "zh"
    PAGE_SIZE: int = 50
    YELLOW_SHARE: float = 0.8  # a task's light turns yellow when this share of its limit is used
    SCHEDULER_INTERVAL: int = 30  # seconds between two sweeps of due BPMN timers
    SCHEDULER_BATCH: int = 200  # cases fired per transaction by one sweep
    SCHEDULER_EMBEDDED: bool = False  # run the timer scheduler inside the web process (development)
    SQL_ECHO: bool = False
    #: office hours for task deadlines, local time of CALENDAR_TZ (see docs/calendar.md)
    WORK_PERIODS: str = "09:00-12:00,13:30-17:30"
    CALENDAR_TZ: str = "Asia/Shanghai"
    #: Open311 GeoReport v2 (docs/open311.md): the jurisdiction_id it answers to, and the channels
    #: whose cases its public GET requests may show (problems reported publicly or found on patrol)
    OPEN311_JURISDICTION: str = "tongguan.demo"
    OPEN311_PUBLIC_CHANNELS: str = "open311,grid,city_mgmt"
    #: duplicate detection (docs/duplicates.md)
    DEDUP_WINDOW_DAYS: int = 90  # closed cases stay merge candidates this many days
    DEDUP_MIN_SCORE: float = 0.5  # candidates below this score are not shown
    DEDUP_AUTO_MERGE: bool = True  # the same reporter sending the same text again is merged at once
    DEDUP_URGENT_REPEATS: int = 3  # a case repeated this often becomes urgent
    #: where reports may come from (lat/lng outside it are refused): the org units' coordinates
    #: widened by this margin, or CITY_AREA given as "south,west,north,east" degrees
    CITY_AREA_MARGIN_KM: float = 30.0
    CITY_AREA: str = ""
    #: maps (docs/map.md): a tile server for a real city ({z}/{x}/{y} URL, its attribution); without
    #: one the maps draw the city's boundaries only, offline
    MAP_TILE_URL: str = ""
    MAP_TILE_ATTRIBUTION: str = ""
    MAP_TILE_MAX_ZOOM: int = 18
    #: attachments: stored outside the database, content-addressed
    ATTACHMENT_DIR: Path = ROOT / "instance" / "attachments"
    ATTACHMENT_MAX_BYTES: int = 10 * 1024 * 1024
    ATTACHMENT_MAX_PER_CASE: int = 20
    #: limits of the process sandbox (docs/process-conventions.md, "Limits of the sandbox"): time
    #: budgets of one script, one expression (gateway condition, DMN cell, task property) and of
    #: all evaluations of one engine action together; the largest workflow state stored per case
    SCRIPT_TIME_LIMIT_MS: int = 1000
    EXPRESSION_TIME_LIMIT_MS: int = 100
    ENGINE_STEP_TIME_LIMIT_MS: int = 5000
    MAX_STATE_BYTES: int = 1024 * 1024
    #: four eyes on the process designer (docs/designer.md): a draft is deployed only after another
    #: designer or admin approved it. "on"/"off"; empty: on in production, off in development and
    #: testing (so one person can try the designer in the demo)
    DESIGNER_REVIEW_REQUIRED: str = ""
    #: seconds a computed hot spot list is served to everyone before it is computed again (the
    #: scheduler refreshes the lists asked for in the last day); 0: computed on every request
    HOTSPOT_MAX_AGE: int = 300
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def designer_review_required(self) -> bool:
        value = str(self.DESIGNER_REVIEW_REQUIRED).strip().lower()
        if value in ("", "auto"):
            return self.ENV == "production"
        return value in ("1", "true", "yes", "on")

    @property
    def is_demo(self) -> bool:
        return self.ENV in ("development", "testing")

    def check(self) -> None:
        if self.ENV not in ENVIRONMENTS:
            raise ConfigError(f"TONGGUAN_ENV must be one of {', '.join(ENVIRONMENTS)}, not {self.ENV!r}")
        if str(self.DESIGNER_REVIEW_REQUIRED).strip().lower() not in ("", "auto", "1", "true", "yes", "on", "0",
                                                                      "false", "no", "off"):
            raise ConfigError(f"DESIGNER_REVIEW_REQUIRED must be on or off, not {self.DESIGNER_REVIEW_REQUIRED!r}")
        if self.ENV == "production" and len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be set to at least 32 random characters in production")
        if not self.DATABASE_URL.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ConfigError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        for name in ("PROCESS_DIR", "RULES_DIR", "FORMS_DIR"):
            if not Path(getattr(self, name)).is_dir():
                raise ConfigError(f"{name} {getattr(self, name)} is not a directory")
        if self.TOKEN_MAX_AGE < 60:
            raise ConfigError("TOKEN_MAX_AGE must be at least 60 seconds")
        self._check_security()
        if self.DEFAULT_LOCALE not in ("zh", "en"):
            raise ConfigError("DEFAULT_LOCALE must be zh or en")
        if not 0 < self.YELLOW_SHARE < 1:
            raise ConfigError("TONGGUAN_YELLOW_SHARE must be between 0 and 1 (e.g. 0.8 for 80 %)")
        if self.SCHEDULER_INTERVAL < 1 or self.SCHEDULER_BATCH < 1:
            raise ConfigError("TONGGUAN_SCHEDULER_INTERVAL and TONGGUAN_SCHEDULER_BATCH must be positive")
        if self.DEDUP_WINDOW_DAYS < 0 or not 0 < self.DEDUP_MIN_SCORE <= 1 or self.DEDUP_URGENT_REPEATS < 1:
            raise ConfigError("TONGGUAN_DEDUP_WINDOW_DAYS must be ≥ 0, TONGGUAN_DEDUP_MIN_SCORE in (0, 1], "
                              "TONGGUAN_DEDUP_URGENT_REPEATS ≥ 1")
        if self.ATTACHMENT_MAX_BYTES < 1024 or self.ATTACHMENT_MAX_PER_CASE < 1:
            raise ConfigError("TONGGUAN_ATTACHMENT_MAX_BYTES must be at least 1024 and TONGGUAN_ATTACHMENT_MAX_PER_CASE at least 1")
        if not 1 <= self.EXPRESSION_TIME_LIMIT_MS <= self.SCRIPT_TIME_LIMIT_MS <= self.ENGINE_STEP_TIME_LIMIT_MS <= 25_000:
            raise ConfigError("the sandbox time limits must satisfy 1 ≤ TONGGUAN_EXPRESSION_TIME_LIMIT_MS ≤ "
                              "TONGGUAN_SCRIPT_TIME_LIMIT_MS ≤ TONGGUAN_ENGINE_STEP_TIME_LIMIT_MS ≤ 25000 "
                              "(under gunicorn's 30 s worker timeout)")
        if self.MAX_STATE_BYTES < 64 * 1024:
            raise ConfigError("TONGGUAN_MAX_STATE_BYTES must be at least 65536 (a case's state takes ~10 KB)")
        if not 0 <= self.CITY_AREA_MARGIN_KM <= 1000:
            raise ConfigError("TONGGUAN_CITY_AREA_MARGIN_KM must be between 0 and 1000 (kilometres)")
        self._check_calendar()
        self._check_open311()
        _ = self.city_area  # checked: raises ConfigError when malformed

    def _check_security(self) -> None:
        if self.SESSION_IDLE_TIMEOUT < 60 or self.SESSION_MAX_AGE < self.SESSION_IDLE_TIMEOUT:
            raise ConfigError("TONGGUAN_SESSION_IDLE_TIMEOUT must be at least 60 seconds and "
                              "TONGGUAN_SESSION_MAX_AGE at least as long")
        if self.LOGIN_MAX_FAILURES < 1 or self.LOGIN_MAX_FAILURES_IP < 1 or self.LOGIN_WINDOW < 1:
            raise ConfigError("TONGGUAN_LOGIN_MAX_FAILURES, TONGGUAN_LOGIN_MAX_FAILURES_IP and TONGGUAN_LOGIN_WINDOW "
                              "must be positive")
        if self.LOGIN_LOCKOUT < 1 or self.LOGIN_LOCKOUT_MAX < self.LOGIN_LOCKOUT:
            raise ConfigError("TONGGUAN_LOGIN_LOCKOUT must be positive and TONGGUAN_LOGIN_LOCKOUT_MAX at least as long")
        if not 1 <= self.LOGIN_DEVICE_MAX_FAILURES <= 100 or self.LOGIN_DEVICE_MAX_AGE < 86400:
            raise ConfigError("TONGGUAN_LOGIN_DEVICE_MAX_FAILURES must be between 1 and 100 and "
                              "TONGGUAN_LOGIN_DEVICE_MAX_AGE at least 86400 seconds (a day)")
        if not 8 <= self.PASSWORD_MIN_LENGTH <= 64:
            raise ConfigError("TONGGUAN_PASSWORD_MIN_LENGTH must be between 8 and 64")
        if self.TRUSTED_PROXIES < 0:
            raise ConfigError("TONGGUAN_TRUSTED_PROXIES must be 0 or more")
        self._check_map()

    @property
    def is_production(self) -> bool:
        return self.ENV == "production"

    def _check_open311(self) -> None:
        from app.cases.models import CHANNELS
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", self.OPEN311_JURISDICTION):
            raise ConfigError("TONGGUAN_OPEN311_JURISDICTION must be a short id such as city.gov.cn "
                              f"(letters, digits, '.', '_', '-'), not {self.OPEN311_JURISDICTION!r}")
        unknown = [c for c in self.open311_public_channels if c not in CHANNELS]
        if unknown:
            raise ConfigError(f"TONGGUAN_OPEN311_PUBLIC_CHANNELS has unknown channels {', '.join(unknown)}; "
                              f"choose among {', '.join(CHANNELS)}")

    @property
    def city_area(self) -> Area | None:
        """``CITY_AREA`` ("south,west,north,east") as an area; None when it is not set."""
        if not self.CITY_AREA.strip():
            return None
        try:
            south, west, north, east = (float(p) for p in self.CITY_AREA.split(","))
        except ValueError:
            raise ConfigError(f"TONGGUAN_CITY_AREA must be four numbers south,west,north,east, "
                              f"e.g. 30.9,121.1,31.6,121.9; not {self.CITY_AREA!r}") from None
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise ConfigError(f"TONGGUAN_CITY_AREA {self.CITY_AREA!r}: need south < north within ±90 and "
                              "west < east within ±180")
        return Area(south, west, north, east)

    def _check_map(self) -> None:
        url = self.MAP_TILE_URL.strip()
        if url:
            # the host goes into the Content-Security-Policy: letters, digits, '.', '-', a port, {s}
            if not re.fullmatch(r"(https?://[A-Za-z0-9.{}-]+(:[0-9]{1,5})?)?/[^\s;,']*", url) or \
                    not all(p in url for p in ("{z}", "{x}", "{y}")):
                raise ConfigError("TONGGUAN_MAP_TILE_URL must be an http(s) URL (or a path on this server) with "
                                  f"{{z}}, {{x}} and {{y}}, e.g. https://tiles.example.gov.cn/{{z}}/{{x}}/{{y}}.png; "
                                  f"not {url!r}")
            if not self.MAP_TILE_ATTRIBUTION.strip():
                raise ConfigError("TONGGUAN_MAP_TILE_ATTRIBUTION must name the tiles' source and licence when "
                                  "TONGGUAN_MAP_TILE_URL is set (the map shows it)")
        if not 1 <= self.MAP_TILE_MAX_ZOOM <= 22:
            raise ConfigError("TONGGUAN_MAP_TILE_MAX_ZOOM must be between 1 and 22")

    @property
    def map_tile_origin(self) -> str | None:
        """The tile server's origin for the CSP's img-src ({s} subdomains as a wildcard); None when
        there is no tile server or it is this server."""
        m = re.match(r"(https?)://([^/]+)", self.MAP_TILE_URL.strip())
        if not m:
            return None
        host = re.sub(r"\{[a-z]\}", "*", m.group(2))
        return f"{m.group(1)}://{host}"

    @property
    def open311_public_channels(self) -> tuple[str, ...]:
        """``OPEN311_PUBLIC_CHANNELS`` as a tuple (comma-separated in the environment)."""
        return tuple(c.strip() for c in self.OPEN311_PUBLIC_CHANNELS.split(",") if c.strip())

    def _check_calendar(self) -> None:
        try:
            ZoneInfo(self.CALENDAR_TZ)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"TONGGUAN_CALENDAR_TZ must be an IANA time zone such as Asia/Shanghai, "
                              f"not {self.CALENDAR_TZ!r}") from None
        try:
            WorkingCalendar(parse_periods(self.WORK_PERIODS), self.CALENDAR_TZ)
        except ValueError as exc:
            raise ConfigError(f"TONGGUAN_WORK_PERIODS {self.WORK_PERIODS!r} is invalid: {exc}") from None

    @property
    def work_periods(self) -> tuple[Period, ...]:
        """``WORK_PERIODS`` as (start, end) times; checked at load, so this cannot fail afterwards."""
        return parse_periods(self.WORK_PERIODS)

    @property
    def sqlalchemy_url(self) -> str:
        url = self.DATABASE_URL
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url


def _coerce(current: object, raw: str) -> object:
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"expected an integer, got {raw!r}") from exc
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError as exc:
            raise ConfigError(f"expected a number, got {raw!r}") from exc
    if isinstance(current, Path):
        return Path(raw)
    return raw


def load_settings(overrides: dict[str, object] | None = None) -> Settings:
    """Build the settings from defaults, the environment, then explicit overrides; then check them."""
    settings = Settings()
    aliases = {"DATABASE_URL": "DATABASE_URL", "SECRET_KEY": "SECRET_KEY"}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        raw = os.environ.get(f"TONGGUAN_{f.name}") or os.environ.get(aliases.get(f.name, "\0"))
        if raw:
            setattr(settings, f.name, _coerce(getattr(settings, f.name), raw))
    for key, value in (overrides or {}).items():
        if not hasattr(settings, key):
            raise ConfigError(f"unknown setting {key}")
        setattr(settings, key, value)
    if not settings.SECRET_KEY:
        if settings.ENV == "production":
            raise ConfigError("SECRET_KEY must be set in production")
        settings.SECRET_KEY = _dev_secret()
    settings.check()
    return settings


def _dev_secret() -> str:
    """A per-checkout secret for development, kept in instance/ so sessions survive restarts."""
    path = ROOT / "instance" / "dev-secret-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x") as fh:  # exclusive: two workers starting together agree on one key
            fh.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    return path.read_text().strip()
