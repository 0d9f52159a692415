"""The pages' login: signed session cookies, the forms' CSRF tokens, the login throttle."""

from __future__ import annotations

import base64

from gate.server.ui.session import LoginThrottle, Sessions, signing_key
from tests.server.ui.helpers import OTHER_TOKEN, TOKEN


class Time:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_configured_token_logs_in_and_the_cookie_names_no_token():
    sessions = Sessions((TOKEN, OTHER_TOKEN))
    cookie = sessions.login(TOKEN)
    assert cookie is not None
    assert sessions.session(cookie) is not None
    payload = base64.urlsafe_b64decode(cookie.split(".")[0] + "==")
    for fragment in (TOKEN, TOKEN[:6], TOKEN[-6:], "SECRET"):
        assert fragment not in cookie and fragment.encode() not in payload
    assert sessions.login("wrong-token-0123456789abcdef") is None
    assert sessions.login("") is None


def test_each_login_is_a_new_session():
    sessions = Sessions((TOKEN,))
    first, second = sessions.login(TOKEN), sessions.login(TOKEN)
    assert sessions.session(first).sid != sessions.session(second).sid


def test_a_cookie_expires():
    clock = Time()
    sessions = Sessions((TOKEN,), clock=clock, max_age=3600)
    cookie = sessions.login(TOKEN)
    clock.now += 3599
    assert sessions.session(cookie) is not None
    clock.now += 2
    assert sessions.session(cookie) is None


def test_a_tampered_or_foreign_cookie_is_no_session():
    sessions = Sessions((TOKEN,))
    cookie = sessions.login(TOKEN)
    assert sessions.session(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert sessions.session("x" * 600) is None
    assert sessions.session(None) is None
    other_server = Sessions((TOKEN,), secret="another-secret-of-at-least-32-chars!")
    assert other_server.session(cookie) is None


def test_the_key_is_the_secret_else_derived_from_every_token():
    assert signing_key((TOKEN,), "s" * 32) == b"s" * 32
    assert signing_key((TOKEN, OTHER_TOKEN), None) == signing_key((OTHER_TOKEN, TOKEN), None)
    assert signing_key((TOKEN,), None) != signing_key((TOKEN, OTHER_TOKEN), None)
    assert TOKEN.encode() not in signing_key((TOKEN,), None)


def test_with_a_shared_secret_a_removed_token_s_sessions_end():
    secret = "a-shared-secret-of-at-least-32-characters"
    before = Sessions((TOKEN, OTHER_TOKEN), secret)
    cookie = before.login(TOKEN)
    assert Sessions((TOKEN,), secret).session(cookie) is not None  # other replica, same token
    assert Sessions((OTHER_TOKEN,), secret).session(cookie) is None  # TOKEN was removed


def test_a_form_token_is_bound_to_its_form_and_what_it_was_given_for():
    clock = Time()
    sessions = Sessions((TOKEN,), clock=clock)
    token = sessions.form_token("logout", "sid-1")
    assert sessions.form_ok(token, "logout", "sid-1")
    assert not sessions.form_ok(token, "logout", "sid-2")
    assert not sessions.form_ok(token, "login", "sid-1")
    assert not sessions.form_ok(None, "logout", "sid-1")
    assert not sessions.form_ok(token, "logout", None)
    clock.now += 3601
    assert not sessions.form_ok(token, "logout", "sid-1")


def test_the_throttle_bounds_failures_per_address_in_a_window():
    throttle = LoginThrottle(max_failures=3, window=60)
    for second in range(3):
        assert throttle.retry_after("a", second) is None
        throttle.failed("a", second)
    assert throttle.retry_after("a", 3) == 57  # the oldest failure leaves the window at 60
    assert throttle.retry_after("b", 3) is None
    assert throttle.retry_after("a", 60.5) is None


def test_a_success_clears_the_address_s_failures():
    throttle = LoginThrottle(max_failures=2, window=60)
    throttle.failed("a", 0)
    throttle.succeeded("a")
    throttle.failed("a", 1)
    assert throttle.retry_after("a", 1) is None


def test_the_throttle_remembers_a_bounded_number_of_addresses():
    throttle = LoginThrottle(max_failures=1, window=60, max_clients=100)
    for index in range(1000):
        throttle.failed(f"10.0.{index // 256}.{index % 256}", 0)
    assert len(throttle) == 100
    assert throttle.retry_after("10.0.3.231", 1) is not None  # the newest are kept
