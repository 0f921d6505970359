"""A case's steps run in whichever app process takes the request (gunicorn workers, the
scheduler). Nothing a process keeps in memory may change how a case runs.

The case of ../shared/repro/stuck_cohandling_case.json stopped with no task because the
multi-instance co-handling activity was joined only in the process that had created its
children: SpiffWorkflow connects the join to the shared, cached process definition when it
creates them. A worker that parsed the same version but had not created any co-handling task
completed 协办处置 without telling the multi-instance, which then waited forever.
"""
from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask

from app.core import clock
from app.engine import definitions
from tests.conftest import Api
from tests.engine import walks
from tests.engine.walks import walk_cohandled_case_with_extension

STEPS_BEFORE_DISPATCH = ("intake", "verify", "file", "triage community", "triage street", "triage district")


def _task_ids(case: dict[str, Any]) -> list[str]:
    return [t["bpmn_id"] for t in case["current_tasks"]]


def _local(client: Api, method: str, url: str, body: Any) -> tuple[int, Any]:
    """One step of a walk through this process's test client (a photo as multipart)."""
    if isinstance(body, walks.Upload):
        r = client.client.post(url, headers=client.headers, data={"file": (io.BytesIO(body.content), body.filename)},
                               content_type="multipart/form-data")
    else:
        r = client.post(url, json=body) if method == "POST" else client.get(url)
    return r.status_code, r.get_json()


def test_a_co_handled_case_goes_on_when_every_step_runs_in_a_fresh_worker(api: Callable[[str], Api]) -> None:
    def call(user: str, method: str, url: str, body: Any, step: str) -> tuple[int, Any]:
        definitions._cache.clear()  # as a worker process that never loaded this version before
        return _local(api(user), method, url, body)

    case = walk_cohandled_case_with_extension(call)
    assert case["status"] == "open" and _task_ids(case) == ["report_back"]


class Remote:
    """Bearer-token requests to other app processes (one token per user, from the first of them)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls, self.tokens, self.lock = urls, {}, threading.Lock()
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session  # type: ignore[no-any-return]

    def token(self, user: str) -> str:
        with self.lock:
            if user not in self.tokens:
                r = self.session().post(f"{self.urls[0]}/api/v1/auth/token", json={"username": user, "password": "demo"})
                assert r.status_code == 200, r.text
                self.tokens[user] = r.json()["token"]
            return self.tokens[user]

    def call(self, base: str, user: str, method: str, url: str, body: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        if isinstance(body, walks.Upload):  # a photo for a step form, as multipart
            r = self.session().request(method, base + url, files={"file": (body.filename, body.content)}, timeout=60,
                                       headers=headers)
        else:
            r = self.session().request(method, base + url, json=body, timeout=60, headers=headers)
        return r.status_code, r.json()


def test_a_co_handled_case_goes_on_across_two_app_processes(app_processes: Callable[[int], list[str]]) -> None:
    first, second = app_processes(2)
    remote = Remote([first, second])

    def call(user: str, method: str, url: str, body: Any, step: str) -> tuple[int, Any]:
        # the dispatch (which creates the co-handling tasks) in one process, everything after it in the other
        return remote.call(first if step in STEPS_BEFORE_DISPATCH else second, user, method, url, body)

    case = walk_cohandled_case_with_extension(call)
    assert case["status"] == "open" and _task_ids(case) == ["report_back"]


def test_running_cases_leaves_the_cached_definitions_as_parsed(app: Flask, api: Callable[[str], Api]) -> None:
    """The net under the cause: walking cases (co-handling, extension, urging, timers) must not change
    the definition objects every case of a process shares."""
    def call(user: str, method: str, url: str, body: Any, step: str) -> tuple[int, Any]:
        return _local(api(user), method, url, body)

    walk_cohandled_case_with_extension(call)  # loads the deployed version into the cache
    loaded = {i: definitions.wiring(d) for i, d in definitions._cache.items()}
    assert loaded
    walk_cohandled_case_with_extension(call)
    for definition_id, before in loaded.items():
        after = definitions.wiring(definitions._cache[definition_id])
        assert after == before, f"running cases changed definition {definition_id}"
        with app.app_context():
            fresh = definitions.wiring(definitions.parse_definition(definition_id))
        assert fresh == before, f"a freshly parsed definition {definition_id} differs from the cached one"


@pytest.mark.parametrize("workers", [2])
def test_stress_co_handled_cases_with_extensions_while_timers_fire(
        app: Flask, app_processes: Callable[[int], list[str]], workers: int) -> None:
    """Several users walk co-handled cases at once over two app processes, each step in a random
    one, while this process sweeps timers days ahead (reminders and supervision fire on the
    same cases, so steps and sweeps collide): every case must end waiting at its next task, and
    the consistency check must find no case without a way forward."""
    from app.engine.consistency import check_cases
    from app.engine.timers import sweep

    remote = Remote(app_processes(workers))
    rng = random.Random(20261202)
    done = threading.Event()
    sweeps: list[Any] = []
    failures: list[BaseException] = []
    results: list[dict[str, Any]] = []

    def sweeper() -> None:
        # each sweep a quarter of an hour further ahead: reminders and escalations fire one after
        # the other, and again after each extension moves a deadline
        with app.app_context():
            while not done.is_set():
                sweeps.append(sweep(now=clock.now() + timedelta(minutes=15 * len(sweeps))))
                time.sleep(0.002)

    def walker(n: int) -> None:
        route = random.Random(rng.random())

        def call(user: str, method: str, url: str, body: Any, step: str) -> tuple[int, Any]:
            return remote.call(route.choice(remote.urls), user, method, url, body)
        try:
            for _ in range(3):
                results.append(walk_cohandled_case_with_extension(call))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    sweeping = threading.Thread(target=sweeper)
    sweeping.start()
    walkers = [threading.Thread(target=walker, args=(n,)) for n in range(4)]
    for t in walkers:
        t.start()
    for t in walkers:
        t.join()
    done.set()
    sweeping.join()
    assert not failures, failures
    assert len(results) == 12
    assert all(c["status"] == "open" and _task_ids(c) == ["report_back"] for c in results), \
        [(c["id"], c["status"], _task_ids(c)) for c in results]
    fired = sum(s.fired for s in sweeps)
    print(f"stress: {len(results)} cases over {workers} app processes, {len(sweeps)} sweeps fired timers of {fired} "
          f"case(s) with {sum(s.conflicts for s in sweeps)} sweep conflict(s); steps retried after 409: {next(walks.conflicts)}")
    assert fired > 0, "the sweeps fired no timer: nothing collided"
    with app.app_context():
        found = check_cases(case_ids=[c["id"] for c in results], open_incidents=False)
    assert found.cases == 12 and found.findings == [], found.findings
