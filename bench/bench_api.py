#!/usr/bin/env python
"""Throughput and latency of the Tongguan API over real HTTP (gunicorn, 2 workers).

Measures, per database (SQLite by default; PostgreSQL with --database-url or --both):

  1. intake       POST /api/v1/cases: cases created per second      (goal >= 300/s on SQLite)
  2. completions  POST /api/v1/tasks/<id>/complete per second        (goal >= 200/s)
  3. inbox        GET /api/v1/tasks p50/p95 with 100,000 cases and
                  10,000 open tasks in the database                  (goal p95 <= 50 ms)
  4. engine       the SpiffWorkflow engine's own cost per case, in-process, without DB or
                  HTTP, and the host's cost in-process with the DB but without HTTP, so the
                  ratio HTTP time / engine time shows what the host adds.

Every database is made fresh (SQLite: a file in a temporary folder; PostgreSQL: scratch
databases created on the server named by the URL and dropped afterwards; the database named in
the URL itself is only used to issue CREATE/DROP DATABASE). The app is served by
``gunicorn -w 2 wsgi:app`` started as a subprocess and always stopped at the end.

Load generator: ``wrk`` (Debian package ``wrk``: ``apt-get install -y wrk``) with a Lua script
that makes a unique body per request; without wrk, a Python client (http.client, several
processes) is used instead and the script says so.

Run from the repository root with the project's virtualenv, e.g.::

    .venv/bin/python bench/bench_api.py                       # SQLite
    .venv/bin/python bench/bench_api.py --both                # SQLite, then PostgreSQL
    .venv/bin/python bench/bench_api.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_api.py --quick               # short smoke run

Results are printed as a table and written to bench/results/<timestamp>.json.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
SECRET_KEY = "bench-" + "k" * 40
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

GOALS = {"intake_rps": 300.0, "complete_rps": 200.0, "inbox_p95_ms": 50.0}

COMMUNITIES = ["d1-s1-c1", "d1-s1-c2", "d1-s2-c1", "d1-s2-c2", "d2-s1-c1", "d2-s1-c2", "d2-s2-c1", "d2-s2-c2"]
CASE_TEXT = {"title": "井盖破损", "description": "人行道上的污水井盖破损，有安全隐患",
             "address": "示范市东湖区湖滨街道滨江路 12 号", "category_code": "component:01002",
             "reporter": {"name": "张先生", "phone": "13800138000"}}
FILE_DATA = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}
COMPLETE_BODY = json.dumps({"data": FILE_DATA}, ensure_ascii=False)


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def step_photos(task: Any) -> dict[str, Any]:
    """The photos a step's form requires (现场核实, 任务处理, 核查结案), as a phone would send them: one
    small real PNG per required photo, checked and stored like any upload (the same file is stored once)."""
    import io
    import struct
    import zlib
    from app.attachments.operations import store_file
    from app.forms.schema import photo_fields, photo_minimum
    from app.tasks import operations as task_ops

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00" + b"\x00\x80\xff" * 2 + b"\x00" + b"\x00\x80\xff" * 2)) + chunk(b"IEND", b""))
    return {name: [store_file(io.BytesIO(png), "现场.png", name, photo=True) for _ in range(photo_minimum(prop))]
            for name, prop in photo_fields(task_ops.task_form(task)).items() if photo_minimum(prop)}


class BenchError(RuntimeError):
    """A problem that stops the benchmark with a clear message."""


# ============================================================================ statistics

def pct(values: list[float], p: float) -> float:
    """Percentile by linear interpolation (values in any order)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ============================================================================ databases

@dataclass
class Database:
    kind: str  # sqlite | postgresql
    url: str
    cleanup: Callable[[], None]
    label: str


class Databases:
    """Makes fresh databases of one kind and removes them all at the end."""

    def __init__(self, kind: str, server_url: str | None, keep: bool) -> None:
        self.kind, self.server_url, self.keep = kind, server_url, keep
        self.made: list[Database] = []
        self.tmpdir = tempfile.mkdtemp(prefix="tongguan-bench-") if kind == "sqlite" else None

    def new(self, name: str) -> Database:
        if self.kind == "sqlite":
            assert self.tmpdir is not None
            path = Path(self.tmpdir) / f"{name}.sqlite"
            db = Database("sqlite", f"sqlite:///{path}", lambda: None, str(path))
        else:
            db = self._new_pg(name)
        self.made.append(db)
        return db

    def _new_pg(self, name: str, template: str | None = None) -> Database:
        """A scratch database on the server, empty or a copy of ``template`` (CREATE DATABASE ... TEMPLATE)."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        assert self.server_url is not None
        base = make_url(self.server_url).set(drivername="postgresql+psycopg")
        dbname = f"tongguan_bench_{os.getpid()}_{name}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{dbname}"' + (f' TEMPLATE "{template}"' if template else "")))
        except Exception as exc:  # noqa: BLE001
            raise BenchError(f"cannot create database {dbname} on {self.server_url}: {exc}") from None
        finally:
            admin.dispose()

        def drop() -> None:
            eng = create_engine(base, isolation_level="AUTOCOMMIT")
            try:
                with eng.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            finally:
                eng.dispose()

        url = base.set(database=dbname, drivername="postgresql").render_as_string(hide_password=False)
        return Database("postgresql", url, drop, dbname)

    def cleanup(self) -> None:
        if self.keep:
            for db in self.made:
                log(f"kept database {db.label}")
            return
        for db in self.made:
            try:
                db.cleanup()
            except Exception as exc:  # noqa: BLE001
                log(f"warning: could not drop {db.label}: {exc}")
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def app_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TONGGUAN_ENV="development", DATABASE_URL=url, SECRET_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
    env.pop("TONGGUAN_SQL_ECHO", None)
    return env


def setup_database(db: Database) -> None:
    """db upgrade, catalog load, demo load, processes deploy: the documented set-up, through the real CLI."""
    for args in (["db", "upgrade"], ["catalog", "load"], ["demo", "load"], ["processes", "deploy"]):
        r = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                           env=app_env(db.url), capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise BenchError(f"'flask {' '.join(args)}' failed on {db.label}:\n{r.stdout[-2000:]}{r.stderr[-4000:]}")


# ============================================================================ the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn wsgi:app as a subprocess in its own process group; stop() always kills it."""

    def __init__(self, db: Database, workers: int, logdir: Path, tag: str) -> None:
        self.db, self.workers, self.logpath = db, workers, logdir / f"gunicorn-{tag}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> "Server":
        last_error = ""
        for _attempt in range(3):
            self.port = free_port()
            logf = open(self.logpath, "ab")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                 "--timeout", "300", "wsgi:app"],
                cwd=ROOT, env=app_env(self.db.url), stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
            logf.close()
            deadline = time.time() + 90
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    last_error = self.log_tail()
                    break
                try:
                    status, _ = request_json(self.port, "GET", "/healthz", timeout=2)
                    if status == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.2)
            else:
                self.stop()
                raise BenchError(f"gunicorn did not answer /healthz within 90 s; log {self.logpath}:\n{self.log_tail()}")
            if "Address already in use" not in last_error:
                break
        self.stop()
        raise BenchError(f"gunicorn exited at start; log {self.logpath}:\n{last_error}")

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.logpath.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group: the master and its workers
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ============================================================================ HTTP helpers

def request_json(port: int, method: str, path: str, body: Any = None, token: str | None = None,
                 timeout: float = 60) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw.decode(errors="replace")
    finally:
        conn.close()


def get_token(port: int, username: str) -> str:
    status, body = request_json(port, "POST", "/api/v1/auth/token", {"username": username, "password": "demo"})
    if status != 200:
        raise BenchError(f"cannot log in as {username}: HTTP {status} {body}")
    return str(body["token"])


# ============================================================================ varied reports

# Reports made from templates (a place + a problem in varied words, with its GB/T 47678.5
# category): intake benchmarks send different reports, as a city does, not one text again and
# again (which the duplicate detector would rightly treat as one problem reported many times).
CITY_ORIGIN = (31.08, 121.30)  # south-west corner of a city of about 30 x 30 km, around the demo city (intake refuses points outside it)

SYL = list("安宝碧滨博昌辰城崇春翠德东方丰福富港广桂海汉和恒宏鸿华怀徽嘉金锦景静俊康兰蓝乐丽莲林龙隆鹿绿茂美明南宁鹏平浦青清庆瑞润森山尚盛世书曙泰棠天田婷万旺威文西溪祥翔新兴星秀雅阳怡逸银颖永悦云泽长正中竹紫")
SUFFIX = {"estate": ["苑", "花园", "小区", "家园", "公馆", "新城", "雅居", "华庭"], "road": ["路", "街", "大道", "巷"],
          "shop": ["餐馆", "超市", "酒店", "烧烤店", "KTV", "网吧"], "school": ["小学", "中学", "幼儿园"]}
PROBLEMS = [
    ("estate", "event:08001", "工地夜间施工噪音扰民", ["旁边工地晚上十一点后还在施工", "工地半夜打桩，吵得睡不着", "建筑工地夜里施工噪音很大"]),
    ("estate", "event:01002", "污水井盖破损", ["门口污水井盖破了一个洞", "的污水井盖松动，踩上去会翻", "路边井盖碎裂有安全隐患"]),
    ("estate", "event:06042", "垃圾堆积无人清运", ["垃圾站的垃圾好几天没人清运", "楼下垃圾堆成山，臭味很大", "垃圾桶满了没人收"]),
    ("estate", "event:01037", "路灯不亮", ["里的路灯坏了一个星期", "晚上路灯全黑，出行不便", "路灯不亮好几天了"]),
    ("estate", "event:06036", "楼道乱堆杂物", ["楼道里堆满了杂物，有火灾隐患", "有人在楼道堆放废品", "消防通道被杂物堵住"]),
    ("estate", "event:09012", "占用消防通道", ["消防通道被私家车长期占用", "消防车道停满了车", "消防通道被堵，消防车进不来"]),
    ("estate", "event:01024", "水井漏水", ["门口水井往外冒水", "供水管道漏水，路面积水", "水井盖下面一直漏水"]),
    ("estate", "event:06030", "下水道堵塞污水外溢", ["下水道堵了，污水流到路上", "化粪池满溢，臭气熏天", "污水管道堵塞外溢"]),
    ("road", "event:02014", "交通信号灯故障", ["路口红绿灯坏了，车辆乱行", "信号灯一直闪黄灯", "红绿灯时间设置不合理，经常堵车"]),
    ("road", "event:09006", "占道经营", ["人行道上摆满了摊位", "小商贩占道经营，行人只能走机动车道", "夜市占道，交通堵塞"]),
    ("road", "event:06013", "道路破损坑洼", ["路面坑洼不平，下雨积水", "道路塌陷一个大坑", "路面破损严重，电动车摔倒"]),
    ("road", "event:06014", "渣土车抛洒", ["渣土车沿路抛洒泥土", "夜里渣土车带泥上路，路面脏", "渣土车不盖篷布，扬尘严重"]),
    ("road", "event:04002", "行道树倒伏", ["一棵行道树被风吹倒压住人行道", "行道树枝干折断挂在电线上", "大树倒了挡住半边路"]),
    ("road", "event:07001", "非法小广告", ["电线杆上贴满了小广告", "墙上喷涂办证小广告", "小广告到处都是"]),
    ("shop", "event:06027", "油烟噪音扰民", ["的油烟直排居民楼", "营业到凌晨，噪音扰民", "排风机噪音太大，晚上睡不着"]),
    ("shop", "event:09015", "无证经营", ["没有营业执照照常营业", "无证经营，食品卫生差", "证照不全还在经营"]),
    ("shop", "event:09005", "店外经营", ["把桌椅摆到人行道上", "占用门前空地经营", "店外烧烤，烟雾很大"]),
    ("school", "event:09001", "校门口摊贩", ["门口摊贩多，学生放学拥堵", "校门口流动摊贩卖三无食品", "上学时间校门口乱停车"]),
    ("school", "event:09009", "门口乱停车", ["门口车辆乱停，堵住人行道", "校门口机动车乱停放", "放学时车辆乱停乱放"]),
    ("school", "event:09009", "接送车辆拥堵", ["门口接送孩子的车辆堵塞道路", "放学时段交通瘫痪", "没有交警疏导，很危险"]),
]
EXTRAS = ["希望有关部门尽快处理。", "已经反映多次，至今没有解决。", "请领导重视。", "严重影响居民正常生活。", "谢谢！",
          "附近老人小孩多，很危险。", "请尽快派人来看看。", "问题存在很久了。", "周边居民意见很大。", ""]


@dataclass
class Place:
    kind: str
    name: str
    lat: float
    lng: float


def make_places(rng: random.Random) -> list[Place]:
    places: dict[str, Place] = {}
    counts = {"estate": 5000, "road": 2000, "shop": 1500, "school": 600}
    for kind, n in counts.items():
        made = 0
        while made < n:
            name = "".join(rng.sample(SYL, 2)) + rng.choice(SUFFIX[kind])
            if name not in places:
                places[name] = Place(kind, name, CITY_ORIGIN[0] + rng.random() * 0.27, CITY_ORIGIN[1] + rng.random() * 0.31)
                made += 1
    return list(places.values())


def report_text(rng: random.Random, place: Place, problem: tuple[str, str, str, list[str]]) -> tuple[str, str]:
    _, _, title, variants = problem
    first, second = rng.sample(variants, 2)
    return f"{place.name}{title}", f"{place.name}{first}，{second}。{rng.choice(EXTRAS)}"


def problems_for(kind: str) -> list[tuple[str, str, str, list[str]]]:
    return [p for p in PROBLEMS if p[0] == kind]




def report_corpus(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` different reports (title, description, address, lat, lng, category)."""
    rng = random.Random(seed)
    places = make_places(rng)
    out = []
    for i in range(n):
        place = rng.choice(places)
        problem = rng.choice(problems_for(place.kind))
        title, description = report_text(rng, place, problem)
        out.append({"title": title, "description": description, "address": f"示范市{place.name}",
                    "lat": round(place.lat + rng.gauss(0, 0.0004), 6), "lng": round(place.lng + rng.gauss(0, 0.0004), 6),
                    "category_code": problem[1]})
    return out


# ============================================================================ load generators

WRK_COMMON = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local token = "__TOKEN__"
local threads = {}
local tid, nthreads = 1, __NTHREADS__
statuses = {}
filler = 0
t_first = 0
t_last = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function base_init()
  tid = wrk.thread:get("tid") or 1
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
  local st = {}
  local fill, first, last = 0, nil, 0
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do st[k] = (st[k] or 0) + v end end
    fill = fill + (t:get("filler") or 0)
    local f, l = t:get("t_first") or 0, t:get("t_last") or 0
    if f > 0 and (first == nil or f < first) then first = f end
    if l > last then last = l end
  end
  local parts = {}
  for k, v in pairs(st) do table.insert(parts, string.format('"%s":%d', tostring(k), v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"active_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"lat_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f},"statuses":{%s},"filler":%d}\n',
    summary.requests, summary.duration, (first and last > first) and (last - first) or 0, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, table.concat(parts, ","), fill))
end
"""

WRK_INTAKE = WRK_COMMON + r"""
local prefix = "__PREFIX__"
local grids = {__GRIDS__}
local bodies = {__BODIES__}
local seed = __SEED__
local counter = 0

function init(args)
  base_init()
  wrk.method = "POST"
  wrk.path = "/api/v1/cases"
end

function request()
  counter = counter + 1
  -- a different report each time (bodies: JSON objects without their opening brace)
  -- a citizen of its own per request (a new seed per run), a report from the corpus in turn
  local body = string.format('{"channel":"grid","external_id":"%s-%d-%d","grid_unit":"%s",' ..
    '"reporter":{"name":"市民","phone":"13%09d"},%s',
    prefix, tid, counter, grids[(counter % #grids) + 1], (seed + tid * 10000000 + counter) % 1000000000,
    bodies[((seed + counter * nthreads + tid) % #bodies) + 1])
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end
"""

WRK_COMPLETE = WRK_COMMON + r"""
local all_ids = {__IDS__}
local body = '__BODY__'
local mine = {}
local idx = 0
local answered = 0

function init(args)
  base_init()
  for i, id in ipairs(all_ids) do
    if (i - 1) % nthreads == tid - 1 then table.insert(mine, id) end
  end
end

local dry_run = true

function request()
  -- wrk 4 calls request() once on thread 1's state to check the script before any connection
  -- exists; that call must not use up a task
  if dry_run and tid == 1 then
    dry_run = false
    return wrk.format("POST", "/api/v1/tasks/" .. (mine[1] or 0) .. "/complete", nil, body)
  end
  if t_first == 0 then t_first = now_us() end
  idx = idx + 1
  if idx <= #mine then
    return wrk.format("POST", "/api/v1/tasks/" .. mine[idx] .. "/complete", nil, body)
  end
  -- every task of this thread was sent: keep the connection busy with a cheap probe until the
  -- last completions come back, then stop (probes are counted apart, as "filler"; the rate is
  -- completions / time from the first request to the last completion, timed here)
  return wrk.format("GET", "/healthz", nil, nil)
end

function response(status, headers, body)
  if #body < 40 and string.find(body, '"status":"ok"', 1, true) then
    filler = filler + 1
  else
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    answered = answered + 1
    t_last = now_us()
  end
  if answered >= #mine then wrk.thread:stop() end
end
"""


def lua_quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    socket_errors: int = 0
    filler: int = 0
    client: str = "wrk"

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count_not(self, status: str) -> int:
        return sum(v for k, v in self.statuses.items() if k != status) + self.socket_errors

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "duration_s": round(self.duration_s, 3), "rps": round(self.rps, 1),
                "p50_ms": round(self.p50_ms, 2), "p95_ms": round(self.p95_ms, 2), "p99_ms": round(self.p99_ms, 2),
                "statuses": self.statuses, "socket_errors": self.socket_errors, "filler": self.filler,
                "client": self.client}


class LoadGenerator:
    def __init__(self, kind: str, connections: int, threads: int, workdir: Path) -> None:
        self.kind, self.connections, self.threads, self.workdir = kind, connections, threads, workdir

    # -------------------------------------------------------------- intake
    def intake(self, port: int, token: str, prefix: str, duration: float, connections: int | None = None) -> LoadResult:
        c = connections or self.connections
        if self.kind == "wrk":
            bodies = ",".join(f'"{lua_quote(json.dumps(r, ensure_ascii=False)[1:])}"' for r in intake_reports())
            script = (WRK_INTAKE.replace("__TOKEN__", token).replace("__PREFIX__", prefix)
                      .replace("__GRIDS__", ",".join(f'"{g}"' for g in COMMUNITIES))
                      .replace("__BODIES__", bodies).replace("__SEED__", str(random.randrange(10**8))))
            return self._wrk(port, script, duration, c)
        return py_load(port, token, "intake", c, duration, prefix=prefix)

    # -------------------------------------------------------------- completions
    def complete(self, port: int, token: str, task_ids: list[int], max_duration: float,
                 connections: int | None = None) -> LoadResult:
        c = connections or self.connections
        if self.kind == "wrk":
            script = (WRK_COMPLETE.replace("__TOKEN__", token).replace("__IDS__", ",".join(map(str, task_ids)))
                      .replace("__BODY__", lua_quote(COMPLETE_BODY)))
            return self._wrk(port, script, max_duration, c, timed=True)
        return py_load(port, token, "complete", c, max_duration, task_ids=task_ids)

    def _wrk(self, port: int, script: str, duration: float, connections: int, timed: bool = False) -> LoadResult:
        path = self.workdir / f"wrk-{time.time_ns()}.lua"
        threads = max(1, min(self.threads, connections))
        path.write_text(script.replace("__NTHREADS__", str(threads)), encoding="utf-8")
        cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
               "--timeout", "60s", "-s", str(path), f"http://127.0.0.1:{port}/"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 180)
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
        if r.returncode != 0 or line is None:
            raise BenchError(f"wrk failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        d = json.loads(line[len("BENCHJSON "):])
        e = d["errors"]
        socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
        lat = d["lat_us"]
        counted = sum(d["statuses"].values())
        # completion runs time themselves (first request to last completion): wrk's own duration
        # is always the full -d even when every task was done earlier
        seconds = d["active_us"] / 1e6 if timed and d["active_us"] > 0 else d["duration_us"] / 1e6
        return LoadResult(requests=counted, duration_s=seconds, p50_ms=lat["p50"] / 1000,
                          p95_ms=lat["p95"] / 1000, p99_ms=lat["p99"] / 1000, statuses=d["statuses"],
                          socket_errors=socket_errors, filler=d["filler"], client=f"wrk -t{threads} -c{connections}")


_intake_reports: list[dict[str, Any]] = []


def intake_reports() -> list[dict[str, Any]]:
    """The 5,000 different reports intake benchmarks send, in turn."""
    if not _intake_reports:
        _intake_reports.extend(report_corpus(5000))
    return _intake_reports


def intake_report(i: int, who: str = "") -> dict[str, Any]:
    """The i-th report sent: the corpus in turn, each time from another citizen (a phone drawn from
    ``who`` and ``i``), so a text that comes round again is a report of the same problem by someone
    else (a duplicate candidate, not the same caller's exact repeat, which intake merges at once)."""
    reports = intake_reports()
    phone = zlib.crc32(f"{who}#{i}".encode()) % 10**9
    return {**reports[i % len(reports)], "reporter": {"name": "市民", "phone": f"13{phone:09d}"}}


def intake_body(prefix: str, i: int) -> bytes:
    body = {"channel": "grid", "external_id": f"{prefix}-{i}", "grid_unit": COMMUNITIES[i % len(COMMUNITIES)],
            **intake_report(i, prefix)}
    return json.dumps(body, ensure_ascii=False).encode()


def post_loop(port: int, requests: Iterator[tuple[str, bytes]], headers: dict[str, str], start_at: float,
              duration: float) -> tuple[list[float], dict[str, int], int, float]:
    """POST ``requests`` (path, body) back to back on one keep-alive connection from ``start_at``
    until ``duration`` has passed or they run out: latencies, statuses, socket errors, end time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + duration
    for path, body in requests:
        if time.time() >= end:
            break
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.will_close:
                conn.close()
        except OSError:
            errors += 1
            conn.close()
            continue
        lat.append(time.perf_counter() - t0)
        statuses[str(r.status)] += 1
    conn.close()
    return lat, dict(statuses), errors, time.time()


def pooled_load(worker: Callable[[tuple[Any, ...]], Any], jobs: list[tuple[Any, ...]], start_at: float) -> LoadResult:
    """Run one client process per job (``worker`` returns what :func:`post_loop` does) and merge their figures."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(jobs)) as pool:
        results = pool.map(worker, jobs)
    lat = [x for r in results for x in r[0]]
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r[1])
    finished = max(r[3] for r in results)
    return LoadResult(requests=len(lat), duration_s=finished - start_at, p50_ms=pct(lat, 50) * 1000,
                      p95_ms=pct(lat, 95) * 1000, p99_ms=pct(lat, 99) * 1000, statuses=dict(statuses),
                      socket_errors=sum(r[2] for r in results), client=f"python x{len(jobs)} processes")


def _py_worker(args: tuple[Any, ...]) -> tuple[list[float], dict[str, int], int, float]:
    """One client process: one connection, requests back to back until the deadline or the items end."""
    port, token, kind, prefix, items, start_at, duration = args
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {token}"}
    if kind == "intake":
        requests: Iterator[tuple[str, bytes]] = (("/api/v1/cases", intake_body(prefix, i)) for i in itertools.count())
    else:
        body = COMPLETE_BODY.encode()
        requests = ((f"/api/v1/tasks/{task_id}/complete", body) for task_id in items)
    return post_loop(port, requests, headers, start_at, duration)


def py_load(port: int, token: str, kind: str, connections: int, duration: float, prefix: str = "",
            task_ids: list[int] | None = None) -> LoadResult:
    start_at = time.time() + 1.5  # let every process start before the clock runs
    jobs = []
    for n in range(connections):
        items = task_ids[n::connections] if task_ids is not None else []
        jobs.append((port, token, kind, f"{prefix}-p{n}", items, start_at, duration))
    return pooled_load(_py_worker, jobs, start_at)


def sequential_get(port: int, path: str, token: str, n: int, warmup: int = 20) -> dict[str, Any]:
    """n GET requests one after another on a keep-alive connection (re-opened when the server closes it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    lat: list[float] = []
    statuses: Counter[int] = Counter()
    size = rows = 0
    for i in range(warmup + n):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        dt = time.perf_counter() - t0
        if r.will_close:
            conn.close()
        if i >= warmup:
            lat.append(dt)
            statuses[r.status] += 1
        if i == warmup:
            size = len(raw)
            try:
                rows = len(json.loads(raw)["tasks"])
            except (ValueError, KeyError, TypeError):
                rows = -1
    conn.close()
    return {"n": n, "p50_ms": pct(lat, 50) * 1000, "p95_ms": pct(lat, 95) * 1000, "p99_ms": pct(lat, 99) * 1000,
            "mean_ms": statistics.fmean(lat) * 1000, "statuses": {str(k): v for k, v in statuses.items()},
            "rows": rows, "bytes": size}


# ============================================================================ in-process access

@contextmanager
def app_context(db: Database) -> Iterator[Any]:
    """The real application, in this process, on ``db`` (for seeding and in-process timings)."""
    import logging
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app import create_app
    app = create_app({"ENV": "development", "DATABASE_URL": db.url, "SECRET_KEY": SECRET_KEY})
    logging.getLogger().setLevel(logging.WARNING)  # the app logs every Spiff task change at INFO
    try:
        with app.app_context():
            yield app
    finally:
        from app.core.db import session
        session.remove()
        app.extensions["db_engine"].dispose()


_principals: dict[str, Any] = {}


def principal(username: str) -> Any:
    from sqlalchemy import select
    from app.core.auth import load_principal
    from app.core.db import session
    from app.orgs.models import User
    uid = session.scalar(select(User.id).where(User.username == username))
    if uid is None:
        raise BenchError(f"demo user {username} missing")
    p = load_principal(uid)
    assert p is not None
    return p


def create_cases_inprocess(n: int, prefix: str, channel: str = "grid", per_tx: int = 50) -> list[int]:
    from app.cases.operations import create_case
    from app.core.db import session, transaction
    op = principal("demo_operator")
    ids: list[int] = []
    for start in range(0, n, per_tx):
        with transaction():
            for i in range(start, min(n, start + per_tx)):
                data = dict(intake_report(i, prefix), channel=channel, external_id=f"{prefix}-{i}",
                            grid_unit=COMMUNITIES[i % len(COMMUNITIES)], urgency="normal")
                case, _created, _tasks = create_case(data, op)
                ids.append(case.id)
        session.remove()
    return ids


def claim_open_tasks(bpmn_id: str, username: str, limit: int) -> list[int]:
    """Claim up to ``limit`` unclaimed open tasks with the real claim operation; returns their ids."""
    from sqlalchemy import select
    from app.core.db import session, transaction
    from app.tasks import operations as task_ops
    from app.tasks.models import Task
    who = principal(username)
    ids = list(session.scalars(select(Task.id).where(Task.state == "open", Task.bpmn_id == bpmn_id,
                                                     Task.claimed_by_id.is_(None)).order_by(Task.id).limit(limit)))
    session.remove()
    for start in range(0, len(ids), 200):
        with transaction():
            for tid in ids[start:start + 200]:
                task_ops.claim_task(session.get(Task, tid), who)
        session.remove()
    return ids


# ============================================================================ 1 + 2: intake and completions

def bench_throughput(db: Database, args: argparse.Namespace, gen: LoadGenerator, logdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stamp = f"{int(time.time())}"
    with Server(db, args.workers, logdir, f"{db.kind}-throughput") as server:
        token = get_token(server.port, "demo_operator")
        # ---------------------------------------------------------------- intake
        log(f"intake: warm-up {args.warmup:.0f} s")
        refuse_errors(gen.intake(server.port, token, f"warm{stamp}", args.warmup), "201", "intake warm-up", server)
        runs = []
        for r in range(args.repeats):
            res = gen.intake(server.port, token, f"in{stamp}r{r}", args.duration)
            log(f"intake run {r + 1}/{args.repeats}: {res.rps:.1f} cases/s, p50 {res.p50_ms:.1f} ms, "
                f"p95 {res.p95_ms:.1f} ms, non-201 {res.count_not('201')}  [{res.client}]")
            runs.append(res)
        single = gen.intake(server.port, token, f"seq{stamp}", min(args.duration, 5), connections=1)
        log(f"intake, 1 connection: {single.rps:.1f} cases/s, p50 {single.p50_ms:.1f} ms")
        out["intake"] = summarize(runs, "201") | {"one_connection": single.as_dict()}

        # ---------------------------------------------------------------- completions
        dtoken = get_token(server.port, "demo_dispatcher")
        stock: list[int] = []

        def fill(n: int) -> None:
            """Have n tasks of grid cases at file_case claimed by demo_dispatcher (made in-process while the server idles)."""
            nonlocal stock
            if len(stock) < n:
                with app_context(db):
                    from sqlalchemy import func, select
                    from app.core.db import session
                    from app.tasks.models import Task
                    want = n - len(stock)
                    have = session.scalar(select(func.count()).select_from(Task).where(
                        Task.state == "open", Task.bpmn_id == "file_case", Task.claimed_by_id.is_(None))) or 0
                    session.remove()
                    if have < want:
                        log(f"completions: creating {want - have} more grid cases in-process")
                        create_cases_inprocess(want - have, f"pool{time.time_ns()}")
                    log(f"completions: demo_dispatcher claims {want} file_case tasks (in-process, real claim_task)")
                    stock += claim_open_tasks("file_case", "demo_dispatcher", want)

        def take(n: int) -> list[int]:
            nonlocal stock
            fill(n)
            if len(stock) < n:
                raise BenchError(f"only {len(stock)} claimed file_case tasks, needed {n}")
            out_ids, stock = stock[:n], stock[n:]
            return out_ids

        # size each run from the warm-up's own rate, so that runs normally end on the time limit
        # with tasks to spare (a run that uses up its tasks is still timed right, just shorter)
        # (wrk always runs its full -d, so the warm-up gets a short one; its rate is timed in Lua)
        warm = refuse_errors(gen.complete(server.port, dtoken, take(300), max(3.0, args.warmup * 2)), "200",
                             "completion warm-up", server)
        log(f"completion warm-up: {warm.rps:.1f}/s over {warm.requests} tasks")
        per_run = int(min(args.max_tasks, max(args.min_tasks, warm.rps * args.duration * 1.4)))
        fill(per_run * args.repeats + int(max(50, min(args.max_tasks, warm.rps * min(args.duration, 5) * 0.8))))
        runs = []
        for r in range(args.repeats):
            chunk = take(per_run)
            res = gen.complete(server.port, dtoken, chunk, args.duration)
            note = " (all tasks done before the time limit)" if res.requests >= len(chunk) else ""
            log(f"completion run {r + 1}/{args.repeats}: {res.rps:.1f} completions/s over {res.requests} tasks, "
                f"p50 {res.p50_ms:.1f} ms, p95 {res.p95_ms:.1f} ms, non-200 {res.count_not('200')}{note}  [{res.client}]")
            runs.append(res)
        seq = take(int(max(50, min(args.max_tasks, warm.rps * min(args.duration, 5) * 0.8))))
        single = gen.complete(server.port, dtoken, seq, min(args.duration, 5), connections=1)
        log(f"completions, 1 connection: {single.rps:.1f}/s, p50 {single.p50_ms:.1f} ms")
        out["complete"] = summarize(runs, "200") | {"one_connection": single.as_dict(), "tasks_per_run": per_run}
        out["server_log"] = str(server.logpath)
    return out


def refuse_errors(res: LoadResult, ok: str, what: str, server: Any) -> LoadResult:
    """Stop when the server refuses what the bench sends: a rate of error answers measures nothing."""
    bad = res.count_not(ok)
    if res.requests and bad > 0.01 * res.requests:
        raise BenchError(f"{what}: {bad} of {res.requests} answers were not {ok} ({res.statuses}); "
                         f"the server log is {server.logpath}")
    return res


def summarize(runs: list[LoadResult], ok: str) -> dict[str, Any]:
    return {
        "runs": [r.as_dict() for r in runs],
        "rps_median": round(med([r.rps for r in runs]), 1),
        "p50_ms_median": round(med([r.p50_ms for r in runs]), 2),
        "p95_ms_median": round(med([r.p95_ms for r in runs]), 2),
        "p99_ms_median": round(med([r.p99_ms for r in runs]), 2),
        "bad_responses": sum(r.count_not(ok) for r in runs),
        "requests": sum(r.requests for r in runs),
        "client": runs[0].client if runs else "",
    }


# ============================================================================ 4: engine and host in-process

def bench_engine(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    """Engine alone (no DB, no HTTP) and the host in-process (DB, no HTTP), per case."""
    from SpiffWorkflow.util.task import TaskState
    with app_context(db) as app:
        from app.engine.definitions import parse_bundle, read_bundle
        from app.engine.serializer import CaseWorkflow, dumps, loads
        from app.orgs.directory import directory
        settings = app.config["SETTINGS"]
        directory()  # the org helpers' cache, as in a warm worker
        t0 = time.perf_counter()
        bundle = read_bundle(settings.PROCESS_DIR, settings.RULES_DIR, settings.FORMS_DIR)
        spec, subs, _forms, _tasks = parse_bundle(bundle, settings.CASE_PROCESS_ID)
        parse_ms = (time.perf_counter() - t0) * 1000
        seed = {"case_id": 1, "channel": "grid", "category_code": "component:01002", "category_kind": "component",
                "category_major": "01", "urgency": "normal", "dispatch_unit": settings.DISPATCH_UNIT,
                "grid_unit": "d1-s1-c1", "district_unit": "d1"}

        def new_case() -> str:
            wf = CaseWorkflow(spec, subs)
            wf.task_tree.data.update(seed)
            wf.do_engine_steps()
            return dumps(wf)

        def complete(state: str) -> str:
            wf = loads(state, spec, subs)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            task = ready[0]
            task.data.update(FILE_DATA)
            task.run()
            wf.do_engine_steps()
            return dumps(wf)

        first = new_case()
        after = complete(first)
        n = args.engine_iterations
        for _ in range(30):
            new_case(), complete(first)
        create_t, complete_t = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            new_case()
            t1 = time.perf_counter()
            complete(first)
            t2 = time.perf_counter()
            create_t.append(t1 - t0)
            complete_t.append(t2 - t1)
        engine = {"parse_bundle_ms": round(parse_ms, 2), "iterations": n,
                  "new_case_ms_median": round(med(create_t) * 1000, 3), "new_case_ms_p95": round(pct(create_t, 95) * 1000, 3),
                  "complete_ms_median": round(med(complete_t) * 1000, 3), "complete_ms_p95": round(pct(complete_t, 95) * 1000, 3),
                  "state_kb_first_task": round(len(first.encode()) / 1024, 1),
                  "state_kb_after_file": round(len(after.encode()) / 1024, 1)}
        log(f"engine alone: new case {engine['new_case_ms_median']:.2f} ms, completion {engine['complete_ms_median']:.2f} ms (medians of {n})")

        # ------------------------------------------------ host in-process: one transaction per case
        from app.cases.operations import create_case
        from app.core.db import session, transaction
        from app.tasks import operations as task_ops
        from app.tasks.models import Task
        op, disp = principal("demo_operator"), principal("demo_dispatcher")
        m = args.host_iterations
        stamp = time.time_ns()
        host_create = []
        case_ids = []
        for i in range(m + 20):
            data = dict(intake_report(i, f"host{stamp}"), channel="grid", external_id=f"host{stamp}-{i}",
                        grid_unit=COMMUNITIES[i % len(COMMUNITIES)], urgency="normal")
            t0 = time.perf_counter()
            with transaction():
                case, _created, _tasks = create_case(data, op)
            host_create.append(time.perf_counter() - t0)
            case_ids.append(case.id)
            session.remove()
        from sqlalchemy import select
        tasks = list(session.scalars(select(Task.id).where(Task.case_id.in_(case_ids), Task.state == "open")))
        session.remove()
        host_claim, host_complete = [], []
        for tid in tasks:
            t0 = time.perf_counter()
            with transaction():
                task_ops.claim_task(session.get(Task, tid), disp)
            t1 = time.perf_counter()
            session.remove()
            with transaction():
                task_ops.complete_task(session.get(Task, tid), disp, dict(FILE_DATA))
            host_complete.append(time.perf_counter() - t1)
            host_claim.append(t1 - t0)
            session.remove()
        host = {"iterations": m,
                "create_ms_median": round(med(host_create[20:]) * 1000, 3),
                "claim_ms_median": round(med(host_claim[20:]) * 1000, 3),
                "complete_ms_median": round(med(host_complete[20:]) * 1000, 3),
                "note": "real create_case / claim_task / complete_task with one commit each, no HTTP, no serialisation of the answer"}
        log(f"host in-process (DB, no HTTP): create {host['create_ms_median']:.2f} ms, complete {host['complete_ms_median']:.2f} ms")
    return {"engine": engine, "host_inprocess": host}


# ============================================================================ 3: inbox with 100k cases

TEMPLATE_KINDS = ("verify", "file", "assign", "handle", "report", "inspect", "callback", "closed", "rejected")
OPEN_SHARE = {"verify": 0.10, "file": 0.10, "assign": 0.10, "handle": 0.30, "report": 0.15, "inspect": 0.15, "callback": 0.10}


def build_templates(replicas: int, seed: int) -> list[dict[str, Any]]:
    """Real cases made by the real operations, each stopped at one step of the closed loop."""
    from sqlalchemy import select
    from app.cases.operations import create_case
    from app.core.db import session, transaction
    from app.orgs.directory import directory
    from app.tasks import operations as task_ops
    from app.tasks.models import Task
    from app.tasks.queries import candidates
    rng = random.Random(seed)
    units = directory()
    departments = sorted(c for c, u in units.by_code.items()
                         if u.kind == "department" and u.parent_code and units.by_code[u.parent_code].kind == "district")
    op = principal("demo_operator")
    people: dict[str, Any] = {}

    def who(username: str) -> Any:
        if username not in people:
            people[username] = principal(username)
        return people[username]

    def step(case_id: int, bpmn_id: str, data: dict[str, Any]) -> None:
        with transaction():
            task = session.scalar(select(Task).where(Task.case_id == case_id, Task.state == "open"))
            if task is None or task.bpmn_id != bpmn_id:
                raise BenchError(f"template case {case_id}: expected open task {bpmn_id}, found {task and task.bpmn_id}")
            name = candidates([task])[task.id][0]
            task_ops.claim_task(task, who(name))
            task_ops.complete_task(task, who(name), data, photos=step_photos(task))
            if session.get(type(task), task.id).state != "completed":
                raise BenchError(f"template case {case_id}: {bpmn_id} did not complete")
        session.remove()

    made: list[dict[str, Any]] = []
    n = 0
    for kind in TEMPLATE_KINDS:
        if kind in ("handle", "report", "closed"):
            targets = [(d, None) for d in departments]
        elif kind == "rejected":
            targets = [(None, None)]
        else:
            targets = [(None, c) for c in COMMUNITIES]
        for dept, grid in targets:
            for _ in range(replicas):
                n += 1
                if dept is not None:
                    district = units.by_code[dept].parent_code
                    grid = rng.choice([c for c in COMMUNITIES if c.startswith(f"{district}-")])
                grid = grid or rng.choice(COMMUNITIES)
                channel = "hotline" if kind == "verify" or (kind == "closed" and n % 2) else "grid"
                with transaction():
                    case, _created, _tasks = create_case(dict(CASE_TEXT, channel=channel, external_id=f"tpl-{kind}-{n}",
                                               title=f"{CASE_TEXT['title']} 模板 {n}", grid_unit=grid,
                                               urgency=rng.choice(["normal", "normal", "urgent"]), lat=None, lng=None), op)
                    cid = case.id
                session.remove()
                plan: list[tuple[str, dict[str, Any]]] = []
                if channel == "hotline":
                    plan.append(("verify_on_site", {"confirmed": True}))
                plan.append(("file_case", {"decision": "reject", "reject_reason": "不属于受理范围"} if kind == "rejected"
                             else {"decision": "file", "grid_unit": grid, "urgency": "normal"}))
                # the category starts at the district tier (rules/starting_tier.dmn): its dispatcher
                # picks one of the district's departments
                plan.append(("triage", {"decision": "dispatch", "co_units": [],
                                        "lead_unit": dept or units.department(units.ancestor(grid, "district"), "sz"),
                                        "handling_limit": rng.choice(["4h", "8h", "1d", "3d"])}))
                plan.append(("handle_case", {"handling_notes": "已处理"}))
                plan.append(("report_back", {"result": "resolved", "result_notes": "已处理"}))
                plan.append(("inspect_case", {"passed": True}))
                plan.append(("callback_case", {"satisfied": True, "score": 5, "reached": True}))
                stop = {"verify": 0, "file": 0, "assign": 1, "handle": 2, "report": 3, "inspect": 4, "callback": 5,
                        "closed": 7, "rejected": 1}[kind] + (1 if channel == "hotline" and kind != "verify" else 0)
                for bpmn_id, data in plan[:stop]:
                    step(cid, bpmn_id, data)
                made.append({"kind": kind, "case_id": cid})
    return made


def seed_inbox(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    """100k cases, ~10k of them open: real template cases, then bulk copies made with SQL."""
    from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, text
    from app.cases.models import Case
    from app.core.db import UTCDateTime, session, transaction
    from app.tasks.models import Task
    from app.tasks.queries import candidates
    rng = random.Random(args.seed)
    t_start = time.perf_counter()
    templates = build_templates(args.template_replicas, args.seed)
    t_templates = time.perf_counter() - t_start
    log(f"inbox: {len(templates)} real template cases made in {t_templates:.1f} s")

    by_kind: dict[str, list[int]] = {}
    for t in templates:
        by_kind.setdefault(t["kind"], []).append(t["case_id"])
    # the open task of each open template and who may claim it
    open_task: dict[int, Any] = {}
    for task in session.scalars(select(Task).where(Task.state == "open")):
        open_task[task.case_id] = task
    cands = candidates(list(open_task.values()))
    claimers = {cid: cands.get(t.id, []) for cid, t in open_task.items()}
    session.remove()

    total, n_open = args.inbox_cases, args.inbox_open
    existing = len(templates)
    plan: list[int] = []  # template case id for each copy
    for kind, share in OPEN_SHARE.items():
        tpls = by_kind[kind]
        count = int(round(n_open * share)) - len(tpls)
        plan += [tpls[i % len(tpls)] for i in range(max(0, count))]
    n_open_made = len(plan) + sum(len(by_kind[k]) for k in OPEN_SHARE)
    n_closed = total - existing - len(plan)
    closed_tpls, rejected_tpls = by_kind["closed"], by_kind["rejected"]
    for i in range(n_closed):
        plan.append(rejected_tpls[i % len(rejected_tpls)] if i % 20 == 0 else closed_tpls[i % len(closed_tpls)])
    rng.shuffle(plan)

    now = datetime.now(timezone.utc)
    with transaction():
        first_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
    session.remove()
    meta = MetaData()
    bench_map = Table("bench_map", meta, Column("new_id", Integer, primary_key=True), Column("tpl_id", Integer),
                      Column("created_at", UTCDateTime), Column("due_at", UTCDateTime),
                      Column("claimed_by_id", Integer), Column("claimed_at", UTCDateTime))
    from sqlalchemy import select as _select
    from app.orgs.models import User
    user_ids = dict(session.execute(_select(User.username, User.id)).all())
    session.remove()
    rows = []
    for k, tpl in enumerate(plan):
        is_open = tpl in open_task
        if is_open:
            created = now - timedelta(seconds=rng.uniform(0, 10 * 86400))
            due = created + timedelta(seconds=rng.uniform(3600, 4 * 86400))
            claim = None
            if claimers.get(tpl) and rng.random() < args.claimed_share:
                claim = user_ids.get(rng.choice(claimers[tpl]))
            rows.append({"new_id": first_id + k, "tpl_id": tpl, "created_at": created, "due_at": due,
                         "claimed_by_id": claim, "claimed_at": created + timedelta(minutes=5) if claim else None})
        else:
            created = now - timedelta(seconds=rng.uniform(10 * 86400, 365 * 86400))
            rows.append({"new_id": first_id + k, "tpl_id": tpl, "created_at": created, "due_at": created,
                         "claimed_by_id": None, "claimed_at": None})
    t0 = time.perf_counter()
    engine = session.get_bind()
    dialect = engine.dialect.name
    case_cols = [c.name for c in Case.__table__.columns if c.name != "id"]
    copy_case = {c: f"c.{c}" for c in case_cols}
    copy_case.update(external_id="NULL", idempotency_key="NULL", created_at="m.created_at", updated_at="m.created_at",
                     closed_at="CASE WHEN c.closed_at IS NULL THEN NULL ELSE m.created_at END")
    task_cols = [c.name for c in Task.__table__.columns if c.name != "id"]
    copy_task = {c: f"t.{c}" for c in task_cols}
    copy_task.update(case_id="m.new_id", created_at="m.created_at",
                     claimed_by_id="CASE WHEN t.state = 'open' THEN m.claimed_by_id ELSE t.claimed_by_id END",
                     claimed_at="CASE WHEN t.state = 'open' THEN m.claimed_at WHEN t.claimed_at IS NULL THEN NULL ELSE m.created_at END",
                     due_at="CASE WHEN t.state = 'open' THEN m.due_at WHEN t.due_at IS NULL THEN NULL ELSE m.created_at END",
                     completed_at="CASE WHEN t.completed_at IS NULL THEN NULL ELSE m.created_at END")
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        bench_map.create(conn)
        for start in range(0, len(rows), 20000):
            conn.execute(insert(bench_map), rows[start:start + 20000])
        statements = {
            "cases": f"INSERT INTO cases (id, {', '.join(case_cols)}) SELECT m.new_id, "
                     f"{', '.join(copy_case[c] for c in case_cols)} FROM bench_map m JOIN cases c ON c.id = m.tpl_id",
            "workflow_instances": "INSERT INTO workflow_instances (case_id, definition_id, state, version, next_timer_at, updated_at) "
                                  "SELECT m.new_id, w.definition_id, w.state, w.version, w.next_timer_at, m.created_at "
                                  "FROM bench_map m JOIN workflow_instances w ON w.case_id = m.tpl_id",
            "tasks": f"INSERT INTO tasks ({', '.join(task_cols)}) SELECT {', '.join(copy_task[c] for c in task_cols)} "
                     "FROM bench_map m JOIN tasks t ON t.case_id = m.tpl_id ORDER BY m.new_id, t.id",
            "audit_events": "INSERT INTO audit_events (at, actor_id, actor_name, case_id, task_id, action, detail) "
                            "SELECT m.created_at, a.actor_id, a.actor_name, m.new_id, a.task_id, a.action, a.detail "
                            "FROM bench_map m JOIN audit_events a ON a.case_id = m.tpl_id ORDER BY m.new_id, a.id",
        }
        for table, sql in statements.items():
            t1 = time.perf_counter()
            counts[table] = conn.execute(text(sql)).rowcount
            log(f"inbox: copied {counts[table]:,} {table} rows in {time.perf_counter() - t1:.1f} s")
        bench_map.drop(conn)
        if dialect == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    t_copy = time.perf_counter() - t0
    t1 = time.perf_counter()
    if args.analyze:
        if dialect == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    t_analyze = time.perf_counter() - t1
    with transaction():
        totals = {
            "cases": session.scalar(select(func.count()).select_from(Case)),
            "open_cases": session.scalar(select(func.count()).select_from(Case).where(Case.status == "open")),
            "tasks": session.scalar(select(func.count()).select_from(Task)),
            "open_tasks": session.scalar(select(func.count()).select_from(Task).where(Task.state == "open")),
            "claimed_open_tasks": session.scalar(select(func.count()).select_from(Task).where(
                Task.state == "open", Task.claimed_by_id.is_not(None))),
        }
        spread = session.execute(select(Task.role, func.count(func.distinct(Task.unit_path)), func.count())
                                 .where(Task.state == "open").group_by(Task.role).order_by(Task.role)).all()
        totals["open_by_role"] = {r: {"units": u, "tasks": n} for r, u, n in spread}
        if dialect == "sqlite":
            totals["db_mb"] = round(Path(engine.url.database).stat().st_size / 2**20, 1)
        else:
            totals["db_mb"] = round(session.scalar(text("SELECT pg_database_size(current_database())")) / 2**20, 1)
    session.remove()
    log(f"inbox: seeded {totals['cases']:,} cases, {totals['open_tasks']:,} open tasks ({totals['tasks']:,} tasks), "
        f"{totals['db_mb']} MB in {t_copy:.1f} s (+{t_analyze:.1f} s ANALYZE)")
    return {"templates": len(templates), "template_seconds": round(t_templates, 1), "copy_seconds": round(t_copy, 1),
            "analyze": args.analyze, "analyze_seconds": round(t_analyze, 1), "rows_copied": counts, "totals": totals,
            "open_tasks_planned": n_open_made}


def explain_inbox(usernames: list[str]) -> dict[str, str]:
    from sqlalchemy import text
    from app.core.db import session
    from app.tasks.queries import inbox_query
    plans = {}
    dialect = session.get_bind().dialect
    for username in usernames:
        q = inbox_query(principal(username), "claimable", "due").limit(50).offset(0)
        sql = str(q.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if dialect.name == "sqlite":
            rows = session.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
            plans[username] = "\n".join(f"{'  ' * _depth(rows, r)}{r[3]}" for r in rows)
        else:
            rows = session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).all()
            plans[username] = "\n".join(r[0] for r in rows)
        plans[username + ":sql"] = sql
    session.remove()
    return plans


def _depth(rows: list[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    d, p = 0, row[1]
    while p in parents:
        d, p = d + 1, parents[p]
    return d


INBOX_USERS = ["demo_dispatcher", "demo_handler", "demo_grid_worker"]


def bench_inbox(db: Database, args: argparse.Namespace, logdir: Path) -> dict[str, Any]:
    with app_context(db):
        seeding = seed_inbox(db, args)
        plans = explain_inbox(INBOX_USERS)
    out: dict[str, Any] = {"seeding": seeding, "plans": plans, "requests": {}}
    # the claimable inbox should read one of the task-queue indexes, not scan the table
    uses_index = all(("ix_tasks_claimable" in plans[u] or "ix_tasks_inbox" in plans[u]) for u in INBOX_USERS)
    out["plan_uses_inbox_index"] = uses_index
    with Server(db, args.workers, logdir, f"{db.kind}-inbox") as server:
        for username in INBOX_USERS:
            token = get_token(server.port, username)
            # claim some through the API so "mine" has rows of this user's own doing too
            status, body = request_json(server.port, "GET", f"/api/v1/tasks?scope=claimable&limit={args.claim_per_user}",
                                        token=token)
            if status != 200:
                raise BenchError(f"inbox of {username}: HTTP {status} {body}")
            claimed = 0
            for t in body["tasks"]:
                s, _ = request_json(server.port, "POST", f"/api/v1/tasks/{t['id']}/claim", token=token)
                claimed += s == 200
            for scope in ("claimable", "mine"):
                res = sequential_get(server.port, f"/api/v1/tasks?scope={scope}", token, args.inbox_requests)
                res["claimed_via_api"] = claimed
                out["requests"][f"{username}:{scope}"] = res
                log(f"inbox {username} {scope}: p50 {res['p50_ms']:.1f} ms, p95 {res['p95_ms']:.1f} ms, "
                    f"{res['rows']} rows, {res['bytes']} bytes, statuses {res['statuses']}")
        out["server_log"] = str(server.logpath)
    out["p95_ms_max"] = round(max(r["p95_ms"] for r in out["requests"].values()), 2)
    return out


# ============================================================================ one database

def run_database(kind: str, args: argparse.Namespace, gen: LoadGenerator, logdir: Path) -> dict[str, Any]:
    dbs = Databases(kind, args.pg_server if kind == "postgresql" else None, args.keep_db)
    result: dict[str, Any] = {"database": kind, "workers": args.workers}
    try:
        if "throughput" in args.parts or "engine" in args.parts:
            db = dbs.new("throughput")
            log(f"{kind}: setting up {db.label} (db upgrade, demo load, processes deploy)")
            setup_database(db)
            if "throughput" in args.parts:
                result.update(bench_throughput(db, args, gen, logdir))
            if "engine" in args.parts:
                result.update(bench_engine(db, args))
        if "inbox" in args.parts:
            db = dbs.new("inbox")
            log(f"{kind}: setting up {db.label} for the inbox test")
            setup_database(db)
            result["inbox"] = bench_inbox(db, args, logdir)
    finally:
        dbs.cleanup()
    ratios(result)
    return result


def ratios(result: dict[str, Any]) -> None:
    eng = result.get("engine")
    if not eng:
        return
    r: dict[str, Any] = {}
    for name, key in (("intake", "new_case_ms_median"), ("complete", "complete_ms_median")):
        e = eng[key]
        part = result.get(name)
        host = result.get("host_inprocess", {}).get("create_ms_median" if name == "intake" else "complete_ms_median")
        if host:
            r[f"{name}_host_inprocess_over_engine"] = round(host / e, 1)
        if part:
            one = part["one_connection"]["p50_ms"]
            r[f"{name}_http_p50_1conn_over_engine"] = round(one / e, 1)
            # time a worker spends per request under load: workers / throughput
            per_req = 1000.0 * result["workers"] / part["rps_median"] if part["rps_median"] else float("nan")
            r[f"{name}_worker_ms_per_request_under_load"] = round(per_req, 2)
            r[f"{name}_worker_time_over_engine"] = round(per_req / e, 1)
    result["ratios"] = r


# ============================================================================ report

def fmt(v: Any, spec: str = ".1f") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def print_report(report: dict[str, Any]) -> None:
    runs = report["runs"]
    kinds = list(runs)
    m = report["meta"]
    print()
    print(f"Tongguan API benchmark  {m['date']}  {m['cpus']} cores  gunicorn {m['worker_class']} x{m['workers']} workers  "
          f"client: {m['client']}  commit {m['git_commit'][:10]}")
    rows: list[tuple[str, list[str], str]] = []

    def add(label: str, getter: Callable[[dict[str, Any]], Any], goal: str = "", spec: str = ".1f") -> None:
        vals = []
        for k in kinds:
            try:
                vals.append(fmt(getter(runs[k]), spec))
            except (KeyError, TypeError):
                vals.append("-")
        rows.append((label, vals, goal))

    add("machine: 2-loop factor before/after (1=idle)",
        lambda r: f"{r['machine_before']['factor']:.2f} / {r['machine_after']['factor']:.2f}")
    add("1 intake: cases/s (median of runs)", lambda r: r["intake"]["rps_median"], ">= 300 (SQLite)")
    add("  latency p50 / p95 ms", lambda r: f"{r['intake']['p50_ms_median']:.1f} / {r['intake']['p95_ms_median']:.1f}")
    add("  non-201 responses", lambda r: r["intake"]["bad_responses"], "0")
    add("  1 connection: cases/s, p50 ms",
        lambda r: f"{r['intake']['one_connection']['rps']:.0f}, {r['intake']['one_connection']['p50_ms']:.1f}")
    add("2 completions/s (median of runs)", lambda r: r["complete"]["rps_median"], ">= 200")
    add("  latency p50 / p95 ms", lambda r: f"{r['complete']['p50_ms_median']:.1f} / {r['complete']['p95_ms_median']:.1f}")
    add("  non-200 responses", lambda r: r["complete"]["bad_responses"], "0")
    add("  1 connection: /s, p50 ms",
        lambda r: f"{r['complete']['one_connection']['rps']:.0f}, {r['complete']['one_connection']['p50_ms']:.1f}")
    add("3 inbox: cases / open tasks",
        lambda r: f"{r['inbox']['seeding']['totals']['cases']:,} / {r['inbox']['seeding']['totals']['open_tasks']:,}")
    for u in INBOX_USERS:
        for scope in ("claimable", "mine"):
            add(f"  {u} {scope} p50 / p95 ms",
                lambda r, u=u, s=scope: f"{r['inbox']['requests'][f'{u}:{s}']['p50_ms']:.1f} / "
                                        f"{r['inbox']['requests'][f'{u}:{s}']['p95_ms']:.1f}",
                "p95 <= 50")
    add("  plan uses an inbox index", lambda r: r["inbox"]["plan_uses_inbox_index"])
    add("4 engine: new case ms (median)", lambda r: r["engine"]["new_case_ms_median"], spec=".2f")
    add("  engine: completion ms (median)", lambda r: r["engine"]["complete_ms_median"], spec=".2f")
    add("  host in-process: create ms", lambda r: r["host_inprocess"]["create_ms_median"], spec=".2f")
    add("  host in-process: complete ms", lambda r: r["host_inprocess"]["complete_ms_median"], spec=".2f")
    add("  intake: HTTP p50 (1 conn) / engine", lambda r: r["ratios"]["intake_http_p50_1conn_over_engine"])
    add("  intake: worker ms per case / engine", lambda r: r["ratios"]["intake_worker_time_over_engine"])
    add("  completion: HTTP p50 (1 conn) / engine", lambda r: r["ratios"]["complete_http_p50_1conn_over_engine"])
    add("  completion: worker ms per task / engine", lambda r: r["ratios"]["complete_worker_time_over_engine"])

    w0 = max(len(r[0]) for r in rows) + 2
    widths = [max(len(k), *(len(r[1][i]) for r in rows)) + 2 for i, k in enumerate(kinds)]
    print("".ljust(w0) + "".join(k.rjust(w) for k, w in zip(kinds, widths)) + "   goal")
    print("-" * (w0 + sum(widths) + 18))
    for label, vals, goal in rows:
        print(label.ljust(w0) + "".join(v.rjust(w) for v, w in zip(vals, widths)) + (f"   {goal}" if goal else ""))
    for k in kinds:
        inbox = runs[k].get("inbox")
        if inbox:
            print(f"\nclaimable inbox query plan ({k}, demo_dispatcher):")
            print("  " + inbox["plans"]["demo_dispatcher"].replace("\n", "\n  "))
    print()


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t0


def cpu_check() -> dict[str, Any]:
    """How much CPU the shared machine gives right now: one busy loop alone, then two at once.
    With two free cores both take as long as one alone (factor ~1.0); 2.0 means one core's worth."""
    n = 3_000_000
    alone = min(_spin(n) for _ in range(3))
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(2)
    try:
        pair = max(pool.map(_spin, [n, n]))
    finally:
        pool.close()  # not terminate(): that SIGTERMs the workers, which inherit our handler
        pool.join()
    return {"loop_alone_s": round(alone, 3), "two_at_once_s": round(pair, 3), "factor": round(pair / alone, 2),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def git_dirty() -> list[str]:
    """Files changed but not committed (others edit app/ while benchmarks run): recorded with the results."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                             capture_output=True, text=True).stdout
        return [ln[3:] for ln in out.splitlines() if ln.strip()]
    except OSError:
        return []


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# ============================================================================ main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", help="run on PostgreSQL: scratch databases are created on this URL's server "
                   "(the named database is only used to create and drop them)")
    p.add_argument("--both", action="store_true", help=f"run SQLite, then PostgreSQL (--database-url or {DEFAULT_PG})")
    p.add_argument("--parts", default="throughput,engine,inbox",
                   help="comma-separated subset of: throughput (intake + completions), engine, inbox")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator: wrk (preferred, lighter) or python; auto = wrk when installed")
    p.add_argument("--connections", type=int, default=4, help="concurrent client connections (default 4)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the machine is shared with the server)")
    p.add_argument("--duration", type=float, default=12, help="seconds per measured run (default 12)")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before the intake runs (default 3)")
    p.add_argument("--repeats", type=int, default=3, help="measured runs per test; medians are reported (default 3)")
    p.add_argument("--min-tasks", type=int, default=500, help="at least this many tasks per completion run")
    p.add_argument("--max-tasks", type=int, default=8000, help="at most this many tasks per completion run")
    p.add_argument("--inbox-cases", type=int, default=100_000, help="cases in the inbox database (default 100000)")
    p.add_argument("--inbox-open", type=int, default=10_000, help="open tasks among them (default 10000)")
    p.add_argument("--inbox-requests", type=int, default=500, help="sequential requests per user and scope (default 500)")
    p.add_argument("--claim-per-user", type=int, default=20, help="tasks each inbox user claims through the API first")
    p.add_argument("--claimed-share", type=float, default=0.15, help="share of seeded open tasks already claimed")
    p.add_argument("--template-replicas", type=int, default=3, help="real cases per template kind and unit (default 3)")
    p.add_argument("--no-analyze", dest="analyze", action="store_false",
                   help="skip ANALYZE (SQLite) / VACUUM ANALYZE (PostgreSQL) after bulk seeding")
    p.add_argument("--engine-iterations", type=int, default=500, help="engine-only timing iterations")
    p.add_argument("--host-iterations", type=int, default=200, help="in-process host timing iterations")
    p.add_argument("--seed", type=int, default=20261129, help="random seed for the seeded data")
    p.add_argument("--keep-db", action="store_true", help="keep the databases (and SQLite files) afterwards")
    p.add_argument("--quick", action="store_true", help="smoke run: short runs, 1 repeat, 10k cases / 1k open tasks")
    p.add_argument("--output", help="JSON file to write (default bench/results/<timestamp>.json)")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeats = 4, 1, 1
        args.inbox_cases, args.inbox_open, args.inbox_requests = 10_000, 1_000, 100
        args.engine_iterations, args.host_iterations, args.template_replicas = 100, 50, 1
        args.min_tasks = 200
    args.parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    unknown = args.parts - {"throughput", "engine", "inbox"}
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.inbox_open >= args.inbox_cases:
        p.error("--inbox-open must be smaller than --inbox-cases")
    args.kinds = ["sqlite"]
    if args.both:
        args.kinds = ["sqlite", "postgresql"]
    elif args.database_url:
        args.kinds = ["postgresql"]
    args.pg_server = args.database_url or DEFAULT_PG
    if "postgresql" in args.kinds and not args.pg_server.startswith(("postgresql://", "postgresql+psycopg://")):
        p.error("--database-url must be a postgresql:// URL (SQLite is the default and needs no URL)")
    return args



def _gunicorn_worker_class() -> str:
    """The worker class gunicorn will use: the project's gunicorn.conf.py, else gunicorn's default."""
    conf = ROOT / "gunicorn.conf.py"
    if conf.exists():
        settings: dict[str, object] = {}
        exec(compile(conf.read_text(), str(conf), "exec"), settings)  # noqa: S102 - the project's own file
        return f"{settings.get('worker_class', 'sync')}/{settings.get('threads', 1)} thread(s)"
    return "sync"

def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    have_wrk = shutil.which("wrk") is not None
    if args.client == "wrk" and not have_wrk:
        print("error: --client wrk but wrk is not installed; install it with: apt-get install -y wrk", file=sys.stderr)
        return 2
    kind = "wrk" if (args.client == "wrk" or (args.client == "auto" and have_wrk)) else "python"
    if kind == "python" and args.client == "auto":
        log("NOTE: wrk not found (apt-get install -y wrk): falling back to the Python client "
            f"({args.connections} processes). It costs more CPU on this shared machine, so rates are lower bounds.")

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    workdir = Path(tempfile.mkdtemp(prefix="tongguan-bench-run-"))
    gen = LoadGenerator(kind, args.connections, args.threads, workdir)
    started = datetime.now(timezone.utc)
    report: dict[str, Any] = {
        "meta": {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(), "cpu_model": cpu_model(),
                 "python": platform.python_version(), "platform": platform.platform(), "git_commit": git_commit(), "git_uncommitted": git_dirty(),
                 "workers": args.workers, "worker_class": _gunicorn_worker_class(), "client": f"{kind} ({args.connections} connections)",
                 "args": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
                 "goals": GOALS},
        "runs": {},
    }
    exit_code = 0
    try:
        for db_kind in args.kinds:
            log(f"===== {db_kind} =====")
            before = cpu_check()
            log(f"machine: loadavg {before['loadavg']}, two busy loops at once take {before['factor']}x one alone")
            report["runs"][db_kind] = run_database(db_kind, args, gen, workdir)
            report["runs"][db_kind]["machine_before"] = before
            report["runs"][db_kind]["machine_after"] = cpu_check()
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        exit_code = 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        exit_code = 130
    finally:
        out = finish_report(report, started, Path(args.output) if args.output else
                            RESULTS_DIR / f"{started:%Y%m%d-%H%M%S}.json", print_report)
        if out is not None:
            print(f"results written to {out}  (server logs in {workdir})")
    return exit_code


def finish_report(report: dict[str, Any], started: datetime, out: Path,
                  printer: Callable[[dict[str, Any]], None]) -> Path | None:
    """Stamp the run's duration, warn if the code changed meanwhile, write and print the report
    (when some database was measured); returns where it was written."""
    report["meta"]["seconds"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
    end_state = (git_commit(), git_dirty())
    if end_state != (report["meta"]["git_commit"], report["meta"]["git_uncommitted"]):
        report["meta"]["git_commit_at_end"], report["meta"]["git_uncommitted_at_end"] = end_state
        print("WARNING: the code changed while the benchmark ran (commit or uncommitted files); "
              "parts of the results may belong to different versions", file=sys.stderr)
    if not report["runs"]:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    printer(report)
    return out


if __name__ == "__main__":
    sys.exit(main())
