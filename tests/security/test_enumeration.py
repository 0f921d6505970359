"""No user enumeration: an unknown username and a wrong password get the same answer, in about
the same time (the unknown name is checked against a dummy hash)."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.security.conftest import api_token, web_login
from tests.web.pages import html


def _median_ms(call: Callable[[], object], tries: int = 7) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def test_same_answer_for_unknown_user_and_wrong_password(anon: Callable[[], FlaskClient],
                                                         make_user: Callable[..., str]) -> None:
    real = make_user()
    wrong, unknown = api_token(anon(), real, "not it at all"), api_token(anon(), "no-such-user-x", "not it at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    page_wrong, page_unknown = web_login(anon(), real, "not it at all"), web_login(anon(), "no-such-user-x", "x")
    assert page_wrong.status_code == page_unknown.status_code == 401
    assert "用户名或密码错误" in html(page_wrong) and "用户名或密码错误" in html(page_unknown)


def test_about_the_same_time_for_unknown_user_and_wrong_password(anon: Callable[[], FlaskClient],
                                                                 make_user: Callable[..., str]) -> None:
    real = make_user()
    client_real, client_unknown = anon(), anon()
    # four tries each (under the lockout); a fresh user per round keeps the counters apart
    names = [make_user() for _ in range(2)] + [real]
    api_token(client_real, real, "warm up")
    real_ms = statistics.median([_median_ms(lambda n=n: api_token(client_real, n, "wrong guess"), tries=3)
                                 for n in names])
    unknown_ms = statistics.median([_median_ms(lambda i=i: api_token(client_unknown, f"ghost-{i}", "wrong guess"), tries=3)
                                    for i in range(3)])
    ratio = max(real_ms, unknown_ms) / min(real_ms, unknown_ms)
    assert ratio < 3, (real_ms, unknown_ms)
    assert unknown_ms > 5  # the dummy hash is computed (a bare miss answers in about a millisecond)
