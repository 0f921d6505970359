"""Months of the demo city's life, played through the product's own operations.

``flask demo history`` moves the product clock (:mod:`app.core.clock`) through the past months
and, at each moment, does what the people of the demo city would do then: citizens call the
hotline, write to the mayor's mailbox or post on WeChat, grid workers report what they find on
patrol; dispatchers file, triage and dispatch; units sign for, handle and report back; grid
workers inspect; operators call back. Supervisors urge, approve extensions and returns, park
cases, escalate. Every step is the real operation a request would call (``create_case``,
``claim_task``, ``complete_task``, ``request_extension``, ``decide_request``, ``park_case``,
``merge_by`` …), one transaction each, and the timer sweep runs every simulated hour, so the audit
trail, task times, deadlines, reminders, supervision and lights are what they would have been.

What happens to a case is drawn when it arrives (:class:`Plan`) from a seeded random generator:
most are closed on time; some are late (the timers put them on the supervisors' list), returned,
extended, escalated, parked, reworked after a failed inspection, reopened after an unsatisfied
call-back, merged as repeats, rejected; the last days' cases are still open, some of them
overdue now. A few places have the same problem again and again (hot spots).

The rule that keeps demo data out of real databases: :func:`check_may_generate`.
"""
from __future__ import annotations

import heapq
import itertools
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from io import BytesIO
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.cases.models import LOCAL_TZ, Case
from app.core import clock
from app.core.audit import AuditEvent, record
from app.core.auth import Principal, load_principal
from app.core.db import session, transaction
from app.core.errors import Conflict
from app.demo import content
from app.demo.content import Community, Place, Problem, Reporter
from app.orgs.models import OrgUnit, RoleAssignment, User
from app.tasks.models import Task

MARKER = "demo_history_generated"
MARKER_STARTED = "demo_history_started"
DEFAULT_MONTHS = 3
DEFAULT_PER_DAY = 3
DEFAULT_SEED = 12345

#: where the cases come from: the hotline most, then grid workers and the city-management system
CHANNEL_MIX = {"hotline": 46, "grid": 18, "city_mgmt": 12, "wechat": 8, "police110": 5, "mailbox": 4, "weibo": 3,
               "open311": 4}
#: arrivals by local hour, for citizens' channels and for inspectors on patrol
CITIZEN_HOURS = (1, 0.5, 0.3, 0.3, 0.4, 1, 3, 6, 10, 12, 11, 9, 6, 7, 9, 10, 9, 8, 7, 6, 5, 4, 3, 2)
PATROL_HOURS = (0, 0, 0, 0, 0, 0, 0, 1, 6, 10, 10, 8, 2, 3, 9, 10, 8, 3, 0, 0, 0, 0, 0, 0)
WEEKDAY_LOAD = (1.15, 1.1, 1.0, 1.0, 0.95, 0.7, 0.6)  # Monday … Sunday
PATROL_CHANNELS = ("grid", "city_mgmt")


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: kinds of case every history has at least one of (its first arrivals), whatever the seed
OWED = ("late", "wrong_unit", "extension", "park", "rework", "reopen", "escalate", "whistle", "reject", "repeat",
        "co_handle")


class HistoryRefused(RuntimeError):
    """The history may not be generated here (production, a database with real cases, no demo city)."""


@dataclass
class Plan:
    """What will happen to one case, drawn when it arrives."""

    reject: bool = False
    escalate: bool = False  # its first tier sends it up
    whistle: bool = False  # the handling unit escalates it (吹哨)
    wrong_unit: bool = False  # dispatched to the wrong department, which asks for a return
    co_handle: bool = False
    extension: bool = False
    late: bool = False  # the unit finishes after its deadline
    late_sign: bool = False  # signs for the task after its sign-for limit
    stuck: bool = False  # not done when the history ends: open and overdue now
    stalled: bool = False  # the unit sits on it far beyond its deadline (the last weeks': open and red now)
    park_days: int = 0
    rework: int = 0  # failed inspections
    reopen: int = 0  # unsatisfied call-backs
    reached: bool = True
    urge: bool = False
    repeat_of: int | None = None  # merge into this case at filing (a repeat by another citizen)


@dataclass
class Story:
    """One case of the simulation: its plan and what it did so far."""

    case_id: int
    plan: Plan
    problem: Problem
    place: Place
    reporter: Reporter | None
    channel: str
    created_at: datetime = EPOCH
    variant: int = 0  # which telling of the problem (content.write_report)
    done: dict[int, str] = field(default_factory=dict)  # task id -> the last thing done on it
    escalated: bool = False
    tier: str | None = None
    returned: bool = False
    whistled: bool = False
    request_id: int | None = None
    parked: bool = False
    failed: int = 0
    reopened: int = 0
    due: dict[int, datetime] = field(default_factory=dict)  # task id -> when to do its next thing
    finish: dict[int, datetime] = field(default_factory=dict)  # task id -> when the unit reports it done
    wake: datetime | None = None  # new tasks are taken up from then on


@dataclass
class Summary:
    cases: int = 0
    seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)
    by_month: dict[str, Counter[str]] = field(default_factory=dict)
    facts: Counter[str] = field(default_factory=Counter)
    start: datetime | None = None
    end: datetime | None = None

    def lines(self) -> list[str]:
        out = [f"demo history: {self.cases} cases from {self.start.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} to "
               f"{self.end.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} (Asia/Shanghai), made in {self.seconds:.1f} s"
               if self.start and self.end else f"demo history: {self.cases} cases"]
        out.append("  by status: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items())))
        for month, counts in sorted(self.by_month.items()):
            out.append(f"  {month}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        out.append("  " + ", ".join(f"{k} {v}" for k, v in self.facts.items()))
        return out


# ---------------------------------------------------------------------------- the rule

def demo_history_runs() -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == MARKER).order_by(AuditEvent.id)))


def check_may_generate() -> bool:
    """May the history be generated into this database? True: yes; False: it is there already.

    Refused (:class:`HistoryRefused`) in production (``TONGGUAN_ENV=production``), without the demo
    city (``flask demo load``), and in a database that has any case the history did not make:
    demo cases never mix with real ones, so a database that took real work orders gets none, and
    one with the demo history gets no second one.
    """
    settings = current_app.config["SETTINGS"]
    if not settings.is_demo:
        raise HistoryRefused("the demo history is only for TONGGUAN_ENV=development or testing, never production: "
                             "it would invent cases, citizens and phone numbers")
    if session.scalar(select(User.id).where(User.username == "demo_operator")) is None:
        raise HistoryRefused("the demo city is not loaded: run 'flask demo load' first")
    runs = demo_history_runs()
    total = session.scalar(select(func.count(Case.id))) or 0
    made = max((int(r.detail.get("cases", 0)) for r in runs), default=0)
    if runs and total == made:
        return False
    begun = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == MARKER_STARTED)) or 0
    if total and begun > len(runs):
        raise HistoryRefused("an earlier demo history stopped half-way; start again from an empty database "
                             "(for SQLite: delete instance/tongguan.sqlite, then make db)")
    if total:
        raise HistoryRefused(f"the database has {total - made} case(s) the demo history did not make; demo cases "
                             "are only generated into a database without other cases")
    return True


# ---------------------------------------------------------------------------- the city

class People:
    """The demo users who act, found by role and the unit a task belongs to (the nearest one)."""

    def __init__(self) -> None:
        rows = session.execute(select(RoleAssignment.user_id, RoleAssignment.role, RoleAssignment.unit_path)
                               .join(User, User.id == RoleAssignment.user_id).where(User.active.is_(True))).all()
        self._by_role: dict[str, list[tuple[str, int]]] = {}
        for user_id, role, path in rows:
            self._by_role.setdefault(role, []).append((path, user_id))
        self._principals: dict[int, Principal] = {}
        self._turn = itertools.count()

    def principal(self, user_id: int) -> Principal:
        if user_id not in self._principals:
            p = load_principal(user_id)
            assert p is not None
            self._principals[user_id] = p
        return self._principals[user_id]

    def for_unit(self, role: str, unit_path: str) -> Principal:
        """Someone with ``role`` at the task's unit or the nearest unit above it (taking turns)."""
        covering = [(path, uid) for path, uid in self._by_role.get(role, ()) if unit_path.startswith(path)]
        if not covering:
            raise LookupError(f"nobody holds {role} over {unit_path}")
        longest = max(len(p) for p, _ in covering)
        nearest = sorted(uid for p, uid in covering if len(p) == longest)
        return self.principal(nearest[next(self._turn) % len(nearest)])

    def named(self, username: str) -> Principal:
        uid = session.scalar(select(User.id).where(User.username == username))
        assert uid is not None, username
        return self.principal(uid)


def load_communities(rng: random.Random) -> list[Community]:
    """The demo city's communities with their boxes (the schematic boundaries) and invented places."""
    from app.maps.models import UnitBoundary
    units = {u.id: u for u in session.scalars(select(OrgUnit))}
    boxes = {}
    for b in session.scalars(select(UnitBoundary)):
        ring = json.loads(b.geometry)["coordinates"][0]
        lngs, lats = [p[0] for p in ring], [p[1] for p in ring]
        boxes[b.org_unit_id] = (min(lats), min(lngs), max(lats), max(lngs))
    out = []
    for u in sorted(units.values(), key=lambda u: u.code):
        if u.kind != "community" or u.id not in boxes:
            continue
        street = units[u.parent_id] if u.parent_id else None
        district = units[street.parent_id] if street and street.parent_id else None
        out.append(Community(u.code, district.name if district else "", street.name if street else "", u.name, boxes[u.id]))
    if not out:
        raise HistoryRefused("the demo city has no community boundaries: run 'flask demo load' first")
    content.name_places(out, rng)
    return out


# ---------------------------------------------------------------------------- the simulation

class Simulation:
    def __init__(self, start: datetime, end: datetime, per_day: float, seed: int) -> None:
        from app.sla.deadlines import calendar
        self.start, self.end, self.per_day = start, end, per_day
        self.rng = random.Random(seed)
        self.calendar = calendar()
        self.people = People()
        self.communities = load_communities(self.rng)
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.seq = itertools.count()
        self.stories: dict[int, Story] = {}
        self.recent: dict[tuple[str, str], list[tuple[datetime, int]]] = {}  # (place, category) -> cases
        self.facts: Counter[str] = Counter()
        self.hot_spots = self._hot_spots()
        self.photos = self._photos()
        self.owed = list(OWED)
        self.stuck_made = False

    # -- setting up

    def _hot_spots(self) -> list[tuple[Community, Problem, Place]]:
        """A few places where the same problem comes back (a market's stalls, a compound's bins …)."""
        spots = []
        for problem in self.rng.sample([p for p in content.PROBLEMS if p.weight >= 3], 4):
            community = self.rng.choice(self.communities)
            spots.append((community, problem, content.pick_place(community, problem.place, self.rng)))
        return spots

    def _photos(self) -> dict[str, Any]:
        from app.attachments.operations import store_file
        made = {}
        for tag, colour in (("现场核实", (120, 140, 160)), ("处置前", (170, 120, 90)), ("处置后", (90, 160, 110)),
                            ("核查", (110, 120, 170))):
            name, png = content.demo_photo(tag, colour)
            made[tag] = store_file(BytesIO(png), name, photo=True)
        return made

    def _push(self, when: datetime, kind: str, item: Any) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), kind, item))

    def _later(self, start: datetime, lo: int, hi: int) -> datetime:
        """``lo``–``hi`` working minutes after ``start``, at a random second."""
        moment = self.calendar.add(start, self.rng.randint(lo, hi))
        return moment + timedelta(seconds=self.rng.randint(0, 59))

    def plan_arrivals(self) -> int:
        day = self.start.astimezone(LOCAL_TZ).date()
        last = self.end.astimezone(LOCAL_TZ).date()
        n = 0
        while day <= last:
            load = self.per_day * WEEKDAY_LOAD[day.weekday()] * (1.0 if self.calendar.is_workday(day) else 0.75)
            count = max(0, round(self.rng.gauss(load, load ** 0.5)))
            for _ in range(count):
                channel = self.rng.choices(list(CHANNEL_MIX), list(CHANNEL_MIX.values()))[0]
                hours = PATROL_HOURS if channel in PATROL_CHANNELS else CITIZEN_HOURS
                if channel in PATROL_CHANNELS and not self.calendar.is_workday(day) and self.rng.random() < 0.7:
                    continue  # fewer patrols on days off
                hour = self.rng.choices(range(24), hours)[0]
                local = datetime.combine(day, time(hour, self.rng.randint(0, 59), self.rng.randint(0, 59)), LOCAL_TZ)
                moment = local.astimezone(timezone.utc)
                if self.start <= moment < self.end:
                    self._push(moment, "arrive", channel)
                    n += 1
            day += timedelta(days=1)
        sweep_at = self.start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        # deadlines and their reminders fall in office hours (working time): sweeping the hours of
        # the calendar's working periods fires each timer within the hour it is due
        first, last = self.calendar.periods[0][0].hour, self.calendar.periods[-1][1].hour
        while sweep_at < self.end:
            if first <= sweep_at.astimezone(self.calendar.zone).hour <= last + 1:
                self._push(sweep_at, "sweep", None)
            sweep_at += timedelta(hours=1)
        return n

    def run(self) -> None:
        from app.engine.timers import sweep
        while self.queue:
            when, _n, kind, item = heapq.heappop(self.queue)
            if when >= self.end:
                break
            clock.set_now(when)
            if kind == "sweep":  # the scheduler's sweep (flask scheduler run), once a simulated hour
                sweep(None, current_app.config["SETTINGS"].SCHEDULER_BATCH)
                continue
            try:
                with transaction():
                    if kind == "arrive":
                        self.arrive(item, when)
                    else:
                        self.act(self.stories[item], when)
            except Conflict:
                session.remove()
                case = session.get(Case, item) if kind == "act" else None
                if case is None or not case.has_incident:
                    raise
                # the process failed on a step: the case waits for an administrator
                # (/admin/incidents), as it would in real life; the history goes on without it
                self.facts["engine incidents"] += 1
            session.remove()
        sweep(self.end, current_app.config["SETTINGS"].SCHEDULER_BATCH)  # what the scheduler has fired by now

    # -- intake

    def _plan(self, problem: Problem, channel: str, hot: bool) -> Plan:
        r = self.rng.random
        return Plan(
            reject=r() < (0.06 if channel in ("hotline", "mailbox", "wechat", "weibo") else 0.015),
            escalate=r() < 0.08, whistle=r() < 0.03, wrong_unit=r() < 0.05, co_handle=r() < 0.06,
            extension=r() < 0.06, late=r() < (0.16 if hot else 0.09), late_sign=r() < 0.05, stalled=r() < 0.05,
            park_days=self.rng.randint(4, 20) if r() < 0.025 else 0,
            rework=(1 if r() < (0.12 if hot else 0.05) else 0), reopen=(1 if r() < (0.1 if hot else 0.04) else 0),
            reached=r() < 0.93, urge=r() < 0.5)

    def _owed(self, now: datetime) -> str | None:
        """A kind of case the history has not had yet: the first arrivals get one each (and one of
        the last quarter's is left undone), so even a short history shows every kind."""
        if self.owed:
            return self.owed.pop(0)
        if not self.stuck_made and now >= self.start + (self.end - self.start) * 3 / 4:
            self.stuck_made = True
            return "stuck"
        return None

    def _forced_plan(self, kind: str) -> Plan:
        plan = Plan(urge=True)
        if kind == "park":
            plan.park_days = self.rng.randint(2, 5)
        elif kind in ("rework", "reopen"):
            setattr(plan, kind, 1)
        elif kind != "repeat":
            setattr(plan, kind, True)
        return plan

    def _recent_open(self, now: datetime) -> Story | None:
        """A case reported in the last week and still open: someone else may report it again."""
        for cid in sorted(self.stories, reverse=True)[:40]:
            story = self.stories[cid]
            if story.created_at >= now - timedelta(days=7) and story.plan.repeat_of is None and not story.plan.reject:
                case = session.get(Case, cid)
                if case is not None and case.status == "open" and case.merged_into_id is None:
                    return story
        return None

    def arrive(self, channel: str, now: datetime) -> None:
        from app.cases.operations import create_case
        rng = self.rng
        forced = self._owed(now)
        if forced is not None:
            channel = "hotline"
        again = self._recent_open(now) if forced == "repeat" or (forced is None and rng.random() < 0.05) else None
        hot = again is None and forced is None and rng.random() < 0.1
        if forced == "stuck":  # exposed garbage: a limit of working hours, so it is red by the end
            problem = next(p for p in content.PROBLEMS if p.category == "event:06010")
            community = rng.choice(self.communities)
            place = content.pick_place(community, problem.place, rng)
        elif again is not None:
            problem, community = again.problem, next(c for c in self.communities if c.code == again.place.community)
            place = Place(again.place.community, again.place.kind, again.place.name, again.place.address,
                          *content._point(community, rng, 0.2), spot=again.place.spot)
        elif hot:
            community, problem, spot = rng.choice(self.hot_spots)
            place = Place(spot.community, spot.kind, spot.name, spot.address, *content._point(community, rng, 0.1),
                          spot=spot.spot)
        else:
            problem = content.pick_problem(rng, channel)
            community = rng.choice(self.communities)
            place = content.pick_place(community, problem.place, rng)
        plan = self._plan(problem, channel, hot) if forced is None else self._forced_plan(forced)
        key = (place.address, problem.category)
        earlier = [cid for at, cid in self.recent.get(key, []) if now - at < timedelta(days=10)]
        repeat_of = earlier[-1] if earlier and (again is not None or rng.random() < 0.6) else None
        reporter = None if channel in PATROL_CHANNELS else content.reporter(rng)
        title, description, variant = content.write_report(
            problem, place, channel, rng, again.variant if again is not None else None)
        if repeat_of is not None:
            first = self.stories.get(repeat_of)
            if first is not None and first.reporter is not None and channel == first.channel == "hotline" \
                    and forced is None and rng.random() < 0.35:
                # the same caller rings again with the same words: intake merges it by itself
                reporter, title = first.reporter, session.get(Case, repeat_of).title  # type: ignore[union-attr]
                description = session.get(Case, repeat_of).description  # type: ignore[union-attr]
            else:
                days = (now - next(at for at, cid in self.recent[key] if cid == repeat_of)).days
                variant = first.variant if first is not None else variant
                description = content.repeat_report(problem, place, channel, rng, days, variant)
                plan.repeat_of = repeat_of
        urgency = "urgent" if rng.random() < problem.urgent else "normal"
        data: dict[str, Any] = {"channel": channel, "title": title, "description": description,
                                "address": place.address, "lat": place.lat, "lng": place.lng,
                                "category_code": problem.category, "urgency": urgency, "grid_unit": place.community,
                                "extension": self._extension(channel, problem, reporter, now)}
        if reporter is not None:
            data["reporter"] = {"name": reporter.name, "phone": reporter.phone}
        if channel == "grid":
            actor: Principal | None = self.people.for_unit("grid_worker", self._unit_path(place.community))
        elif channel in ("hotline", "mailbox", "police110", "city_mgmt"):
            actor = self.people.for_unit("operator", self._unit_path("city"))
        else:
            actor = None  # wechat, weibo, open311: delivered by the channel's gateway
        case, _created, started = create_case(data, actor)
        session.flush()
        self.recent.setdefault(key, []).append((now, case.id))
        story = Story(case.id, plan, problem, place, reporter, channel, created_at=now, variant=variant)
        self.stories[case.id] = story
        if started is not None and started.merged_into is not None:
            self.facts["merged on intake"] += 1
            return
        self._push(self._later(now, 5, 45), "act", case.id)

    def _unit_path(self, code: str) -> str:
        from app.orgs.directory import directory
        return directory().by_code[code].path

    def _extension(self, channel: str, problem: Problem, reporter: Reporter | None, now: datetime) -> dict[str, Any]:
        rng, stamp = self.rng, now.astimezone(LOCAL_TZ)
        serial = f"{stamp:%Y%m%d}{rng.randint(0, 99999):05d}"
        if channel == "hotline":
            from app.catalog.service import lookup_topic
            topic = lookup_topic(problem.topic)
            ext = {"call_id": f"DEMO-{serial}", "reply_method": rng.choice(("phone", "phone", "sms"))}
            if reporter is not None:
                ext["caller_number"] = reporter.phone
            if topic is not None:
                ext["topic_code"] = topic.code
            return ext
        if channel == "grid":
            return {"found_at": now.isoformat(), "severity": rng.choice(("minor", "moderate", "moderate", "serious"))}
        if channel == "city_mgmt":
            return {"cm_case_no": f"CG{serial}", "source": rng.choice(("inspector", "inspector", "video", "public"))}
        if channel == "police110":
            ext = {"incident_no": f"JJ{serial}", "police_station": rng.choice(("湖滨派出所", "新港派出所", "枫林派出所", "龙华派出所")),
                   "transferred_at": now.isoformat()}
            if reporter is not None:
                ext["caller_number"] = reporter.phone
            return ext
        if channel == "mailbox":
            return {"letter_type": rng.choice(("complaint", "complaint", "help", "suggestion")), "publish_consent": rng.random() < 0.4}
        if channel == "wechat":
            return {"openid": f"demo_{rng.getrandbits(48):012x}", "msg_type": rng.choice(("text", "text", "image", "location"))}
        if channel == "weibo":
            return {"uid": f"demo{rng.randint(10**6, 10**7 - 1)}", "reposts": rng.randint(0, 40)}
        if channel == "open311":
            return {"duration": rng.choice(("today", "days", "week")), "device_id": f"demo-device-{rng.randint(1, 500)}"}
        return {}

    # -- the steps

    def _open_tasks(self, case_id: int) -> list[Task]:
        return list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open").order_by(Task.id)))

    def act(self, story: Story, now: datetime) -> None:
        case = session.get(Case, story.case_id)
        if case is None or case.status != "open":
            return
        for task in self._open_tasks(case.id):
            at = story.due.get(task.id, story.wake)
            if at is not None and at > now:
                continue  # its time has not come (another of the case's tasks woke the case)
            later = self.step(story, case, task, now)
            if later is None:
                continue
            if story.done.get(task.id) == "completed" or task.state != "open":
                story.wake = later  # the tasks that follow are taken up then
            story.due[task.id] = later
            self._push(later, "act", story.case_id)

    def _do(self, story: Story, task: Task, principal: Principal, data: dict[str, Any],
            photos: dict[str, list[str]] | None = None) -> None:
        from app.tasks.operations import claim_task, complete_task
        if task.claimed_by_id is None:
            claim_task(task, principal)
        elif task.claimed_by_id != principal.id:
            principal = self.people.principal(task.claimed_by_id)
        files = {name: [self.photos[tag] for tag in tags] for name, tags in (photos or {}).items()}
        complete_task(task, principal, data, photos=files or None)
        story.done[task.id] = "completed"

    def step(self, story: Story, case: Case, task: Task, now: datetime) -> datetime | None:
        """Do the next thing on ``task``; when to come back to the case (None: nothing to do here)."""
        plan, rng, bpmn = story.plan, self.rng, task.bpmn_id
        who = self.people.for_unit(task.role, task.unit_path)
        if bpmn == "verify_on_site":
            self._do(story, task, who, {"confirmed": True, "verify_notes": "现场核实情况属实"},
                     {"site_photos": ["现场核实"]})
            return self._later(now, 5, 40)
        if bpmn == "file_case":
            return self._file(story, case, task, who, now)
        if bpmn == "triage":
            return self._triage(story, case, task, who, now)
        if bpmn in ("handle_case", "cohandle_case"):
            return self._handle(story, case, task, who, now)
        if bpmn == "report_back":
            notes = content.handling_notes(story.problem, story.variant)
            self._do(story, task, who, {"result": "resolved", "result_notes": notes})
            return self._later(now, 30, 200)
        if bpmn == "inspect_case":
            passed = story.failed >= plan.rework
            data: dict[str, Any] = {"passed": passed, "inspect_notes": "现场复查已处置到位" if passed else rng.choice(content.REINSPECT)}
            self._do(story, task, who, data, {"inspect_photos": ["核查"]})
            if not passed:
                story.failed += 1
                self.facts["failed inspections"] += 1
            return self._later(now, 10, 50) if not passed else self._later(now, 60, 380)
        if bpmn == "callback_case":
            satisfied = story.reopened >= plan.reopen
            if not plan.reached:
                data = {"reached": False, "satisfied": True, "callback_notes": "三次回访均未接通"}
            elif satisfied:
                data = {"reached": True, "solved": True, "satisfied": True, "score": rng.choices((5, 4, 3), (70, 25, 5))[0],
                        "callback_notes": rng.choice(content.SATISFIED_NOTES)}
            else:
                # most who are not satisfied say it is not solved; some that it is, but not well
                data = {"reached": True, "solved": rng.random() < 0.25, "satisfied": False, "score": rng.choice((1, 2)),
                        "callback_notes": rng.choice(content.UNSATISFIED)}
                story.reopened += 1
                self.facts["reopened"] += 1
            if story.reporter is None:
                data = {"reached": False, "satisfied": True, "callback_notes": "巡查上报案件，无需回访"}
            self._do(story, task, who, data)
            return self._later(now, 10, 50)
        return None

    def _file(self, story: Story, case: Case, task: Task, who: Principal, now: datetime) -> datetime | None:
        from app.core.errors import Conflict
        from app.duplicates.operations import merge_by
        from app.tasks.operations import claim_task
        plan = story.plan
        if plan.repeat_of is not None:
            master = session.get(Case, plan.repeat_of)
            if master is not None and (master.status == "open" or master.merged_into_id is not None):
                try:
                    claim_task(task, who)
                    merge_by(who, case, plan.repeat_of, reason="同一地点同一问题的重复诉求，并入原工单办理")
                    self.facts["merged by dispatcher"] += 1
                    return None
                except Conflict:
                    pass  # the first case ended meanwhile: this one is filed on its own
        if plan.reject:
            self._do(story, task, who, {"decision": "reject", "reject_reason": self.rng.choice(
                ("不属于本平台受理范围，已告知诉求人向相关单位反映", "诉求内容不清，多次联系诉求人未果", "属于民事纠纷，已建议通过司法途径解决"))})
            self.facts["rejected"] += 1
            return None
        self._do(story, task, who, {"decision": "file", "grid_unit": story.place.community, "urgency": case.urgency})
        return self._later(now, 10, 50)

    def _triage(self, story: Story, case: Case, task: Task, who: Principal, now: datetime) -> datetime | None:
        from app.tasks.operations import proposal, task_form
        plan, rng = story.plan, self.rng
        if plan.escalate and not story.escalated and case.tier != "city":
            story.escalated = True
            self._do(story, task, who, {"decision": "escalate", "escalate_reason": rng.choice(content.ESCALATE_REASONS)})
            self.facts["escalated"] += 1
            return self._later(now, 10, 60)
        proposed_values = proposal(task, task_form(task))
        proposed = proposed_values.get("proposed_lead")
        # what the triage form shows filled in: the rules' proposal, which the dispatcher accepts
        data: dict[str, Any] = {"decision": "dispatch", "lead_unit": proposed,
                                "handling_limit": proposed_values.get("time_limit") or "1d"}
        if plan.wrong_unit and not story.returned and proposed:
            wrong = self._sibling(proposed)
            if wrong:
                data["lead_unit"] = wrong
        elif plan.co_handle and proposed:
            co = self._sibling(proposed)
            if co:
                data["co_units"] = [co]
        self._do(story, task, who, data)
        return self._later(now, 10, 100) if not plan.late_sign else self._later(now, 130, 240)

    def _sibling(self, code: str) -> str | None:
        """Another department under the same parent (a plausible wrong or co-handling unit)."""
        from app.orgs.directory import directory
        units = directory()
        unit = units.by_code.get(code)
        if unit is None or unit.kind != "department":
            return None
        siblings = sorted(u.code for u in units.by_code.values()
                          if u.kind == "department" and u.parent_code == unit.parent_code and u.code != code)
        return self.rng.choice(siblings) if siblings else None

    def _handle(self, story: Story, case: Case, task: Task, who: Principal, now: datetime) -> datetime | None:
        from app.supervision.models import TaskRequest
        from app.supervision import operations as sup
        from app.tasks.operations import claim_task
        plan, rng, state = story.plan, self.rng, story.done.get(task.id)
        story.tier = case.tier
        supervisor = self.people.for_unit("supervisor", task.unit_path)
        lead = task.bpmn_id == "handle_case"
        if state is None:  # sign for it: its clock starts
            claim_task(task, who)
            story.done[task.id] = "claimed"
            session.refresh(task)
            if lead and plan.wrong_unit and not story.returned:
                story.done[task.id] = "return"
                return self._later(now, 20, 90)
            return self._next_handling(story, task, now)
        holder = self.people.principal(task.claimed_by_id) if task.claimed_by_id else who
        if state == "return":
            _status, req = sup.return_task(task, holder, rng.choice(content.RETURN_REASONS))
            story.returned, story.request_id = True, req.id if req else None
            story.done[task.id] = "return_requested"
            self.facts["returned"] += 1
            return self._later(now, 20, 120)
        if state == "return_requested" and story.request_id is not None:
            req = session.get(TaskRequest, story.request_id)
            assert req is not None
            sup.decide_request(req, supervisor, True, "经核实确属派遣有误，同意退回重新派遣")
            story.done[task.id] = "returned"
            return self._later(now, 10, 40)
        if state == "whistle":
            sup.escalate_task(task, holder, rng.choice(content.ESCALATE_REASONS))
            story.whistled = True
            story.done[task.id] = "escalated"
            self.facts["escalated"] += 1
            return self._later(now, 10, 60)
        if state == "ask_extension":
            if task.due_at is not None and task.due_at > now:
                req = sup.request_extension(task, holder, rng.choice(content.EXTENSION_REASONS),
                                            days=rng.choice((1, 2, 3)))
                story.request_id = req.id
                story.done[task.id] = "extension_requested"
                return self._later(now, 30, 150)
            story.done[task.id] = "working"
        if state == "extension_requested" and story.request_id is not None:
            req = session.get(TaskRequest, story.request_id)
            assert req is not None
            approve = rng.random() < 0.85
            sup.decide_request(req, supervisor, approve, "同意延期，请在延长期限内办结" if approve else "理由不充分，请按原时限办结")
            self.facts["extensions approved" if approve else "extensions refused"] += 1
            story.done[task.id] = "working"
            session.refresh(task)
            return self._finish_at(story, task, now, extended=approve)
        if state == "park":
            sup.park_case(case, supervisor, rng.choice(content.PARK_REASONS))
            story.parked = True
            story.done[task.id] = "parked"
            self.facts["parked"] += 1
            days = plan.park_days * self.calendar.day_length_minutes
            return self._later(now, days, days + 200)
        if state == "parked":
            sup.unpark_case(case, supervisor, "条件已具备，恢复办理")
            story.done[task.id] = "working"
            session.refresh(task)
            return self._finish_at(story, task, now)
        if state == "urge":
            if task.due_at is not None:
                sup.urge_task(task, supervisor, rng.choice(content.URGE_TEXTS))
                self.facts["urged"] += 1
            story.done[task.id] = "working"
            return story.finish.pop(task.id, None) or self._later(now, 60, 300)
        # working: it is done now
        notes = content.handling_notes(story.problem, story.variant)
        if lead:
            self._do(story, task, holder, {"handling_notes": notes}, {"before_photos": ["处置前"], "after_photos": ["处置后"]})
        else:
            self._do(story, task, holder, {"cohandling_notes": "已配合主办单位完成处置"})
        return self._later(now, 10, 120)

    def _next_handling(self, story: Story, task: Task, now: datetime) -> datetime:
        """After signing for it: what the unit does next, and when."""
        plan = story.plan
        lead = task.bpmn_id == "handle_case"
        if lead and plan.whistle and not story.whistled and not story.escalated and story.tier != "city":
            story.done[task.id] = "whistle"
            return self._later(now, 30, 120)
        if lead and plan.park_days and not story.parked:
            story.done[task.id] = "park"
            return self._later(now, 30, 200)
        if lead and plan.extension:
            story.done[task.id] = "ask_extension"
            limit = self._limit(task)
            return self._later(now, max(10, limit // 4), max(20, limit // 2))
        story.done[task.id] = "working"
        return self._finish_at(story, task, now)

    def _limit(self, task: Task) -> int:
        return self.calendar.limit_minutes(task.time_limit) if task.time_limit else self.calendar.day_length_minutes

    def _finish_at(self, story: Story, task: Task, now: datetime, extended: bool = False) -> datetime:
        """When the unit reports it done: well within the limit, or late (the timers fire meanwhile)."""
        plan, rng = story.plan, self.rng
        limit = self._limit(task)
        start = task.started_at or now
        if plan.stalled and not extended:
            share = rng.uniform(5, 25)
        elif plan.late and not extended:
            share = rng.uniform(1.1, 2.2)
        elif extended:
            share = rng.uniform(1.05, 1.4)
        else:
            share = rng.betavariate(2, 3) * 0.9 + 0.05
        if plan.stuck:
            return self.end + timedelta(days=30)
        finish = self.calendar.add(start, max(5, int(limit * share))) + timedelta(seconds=rng.randint(0, 59))
        if finish <= now:
            finish = self._later(now, 5, 30)
        if plan.urge and (plan.late or share > 0.8) and task.yellow_at is not None and task.due_at is not None:
            urge_at = task.due_at if plan.late else task.yellow_at
            urge_at = self._later(max(urge_at, now), 5, 60)
            if urge_at < finish:
                story.done[task.id] = "urge"
                story.finish[task.id] = finish
                return urge_at
        return finish


def month_start_back(moment: datetime, months: int) -> datetime:
    """Local midnight ``months`` months before ``moment`` (same day of the month, or the month's last)."""
    from calendar import monthrange
    local = moment.astimezone(LOCAL_TZ)
    year, month = divmod(local.year * 12 + local.month - 1 - months, 12)
    month += 1
    day = min(local.day, monthrange(year, month)[1])
    return datetime.combine(date(year, month, day), time(0), LOCAL_TZ).astimezone(timezone.utc)


def generate(months: int = DEFAULT_MONTHS, per_day: float = DEFAULT_PER_DAY, seed: int = DEFAULT_SEED,
             end: datetime | None = None, days: int | None = None) -> Summary | None:
    """Play ``months`` (or ``days``) of the demo city up to ``end`` (default: now). None if it is
    there already.

    The product clock is moved through the period and given back as it was, whatever happens."""
    import time as timer
    started = timer.perf_counter()
    if end is not None and end > clock.now():
        raise HistoryRefused(f"the history ends at {end.isoformat()}, which has not come yet: a history is of the past")
    if not check_may_generate():
        return None
    before = clock._fixed
    end = (end or clock.now()).astimezone(timezone.utc).replace(microsecond=0)
    start = month_start_back(end, months) if days is None else \
        datetime.combine(end.astimezone(LOCAL_TZ).date() - timedelta(days=days), time(0), LOCAL_TZ).astimezone(timezone.utc)
    try:
        with clock.frozen(start), transaction():
            record(MARKER_STARTED, months=months, per_day=per_day, seed=seed, start=start.isoformat(), end=end.isoformat())
        session.remove()
        sim = Simulation(start, end, per_day, seed)
        session.commit()  # the demo photos' files are stored; nothing else is written yet
        sim.plan_arrivals()
        sim.run()
        with clock.frozen(end), transaction():
            ids = session.execute(select(func.min(Case.id), func.max(Case.id), func.count(Case.id))).one()
            record(MARKER, months=months, per_day=per_day, seed=seed, cases=ids[2], first_case=ids[0],
                   last_case=ids[1], start=start.isoformat(), end=end.isoformat(), facts=dict(sim.facts))
    finally:
        clock.set_now(before)
        session.remove()
    summary = summarize(start, end, sim.facts)
    summary.seconds = timer.perf_counter() - started
    return summary


def summarize(start: datetime, end: datetime, facts: Counter[str] | None = None) -> Summary:
    """Counts of the cases in the database: by status, by month of arrival, and how they went."""
    s = Summary(start=start, end=end, facts=Counter(facts or {}))
    rows = session.execute(select(Case.status, Case.created_at, Case.closed_at, Case.parked_at, Case.due_at,
                                  Case.rework_count, Case.reopen_count, Case.escalation_count)).all()
    moment = end
    for status, created, _closed, parked, due, rework, reopen, escalations in rows:
        s.cases += 1
        s.by_status[status] += 1
        month = created.astimezone(LOCAL_TZ).strftime("%Y-%m")
        s.by_month.setdefault(month, Counter())[status] += 1
        if status == "open":
            if parked is not None:
                s.facts["open parked"] += 1
            elif due is not None and due <= moment:
                s.facts["open overdue"] += 1
    late = session.execute(select(func.count(func.distinct(Task.case_id))).join(Case, Case.id == Task.case_id).where(
        Case.status == "closed", Task.bpmn_id == "handle_case", Task.state == "completed",
        Task.completed_at > Task.due_at)).scalar() or 0
    closed = s.by_status.get("closed", 0)
    s.facts["closed late"] = late
    s.facts["closed on time"] = closed - late
    return s
