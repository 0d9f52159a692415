"""The history pages' routes, in-process (aiohttp's test client) on a real SQLite store: the
login and its cookie, the anonymous redirect, the list and its filters and pages, a gate's
page, the headers, hostile values, and that the API's bearer auth is unchanged."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from structlog.testing import capture_logs

from gate.server.ui import UI
from gate.server.ui.routes import PAGE_SIZE, SECURITY_HEADERS
from gate.server.ui.session import LOGIN_COOKIE, MAX_FAILURES, SESSION_COOKIE
from tests.server.ui.helpers import CSRF, HOUR, OTHER_TOKEN, TOKEN, add_gate

CSP = SECURITY_HEADERS["Content-Security-Policy"]


async def login(client, token=TOKEN, next_page="/ui/", headers=None):
    """What a browser does: GET the form (its nonce cookie), POST it with its CSRF token."""
    form = await client.get("/ui/login", headers=headers)
    assert form.status == 200
    csrf = CSRF.search(await form.text()).group(1)
    nonce = set_cookie(form, LOGIN_COOKIE).value  # sent back by hand when it is Secure
    return await client.post(
        "/ui/login",
        data={"token": token, "csrf": csrf, "next": next_page},
        allow_redirects=False,
        headers=headers,
        cookies={LOGIN_COOKIE: nonce},
    )


def set_cookie(response, name):
    cookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookie.load(header)
    return cookie.get(name)


def gate_rows(html):
    return re.findall(r'<tr class="gate" id="gate-(gt_[0-9A-Z]+)"', html)


# --- login, session, logout -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ui", "/ui/", "/ui/?repository=a/b", "/ui/gates/gt_01ARZ3NDEKTSV4RRFFQ69G5FAV"]
)
async def test_an_anonymous_visit_to_a_page_is_sent_to_the_login_and_served_nothing(
    client, store, clock, path
):
    await add_gate(store, clock, repository="secret-org/hidden")
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/ui/login")
    assert "secret-org" not in await response.text()
    assert response.headers["Content-Security-Policy"] == CSP


async def test_the_login_sends_back_to_the_page_asked_for(client):
    response = await client.get("/ui/?status=done", allow_redirects=False)
    assert response.headers["Location"] == "/ui/login?next=%2Fui%2F%3Fstatus%3Ddone"
    answer = await login(client, next_page="/ui/?status=done")
    assert answer.status == 303
    assert answer.headers["Location"] == "/ui/?status=done"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "/v1/gate", "javascript:x"],
)
async def test_the_login_never_sends_a_browser_off_the_pages(client, target):
    answer = await login(client, next_page=target)
    assert answer.headers["Location"] == "/ui/"


async def test_a_login_sets_a_signed_httponly_strict_cookie_that_holds_no_token(client):
    answer = await login(client)
    assert answer.status == 303
    cookie = set_cookie(answer, SESSION_COOKIE)
    assert cookie is not None
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/ui"
    assert not cookie["secure"]  # plain http here; over https it is Secure (below)
    assert TOKEN not in cookie.value
    assert TOKEN[:8] not in cookie.value and TOKEN[-8:] not in cookie.value
    page = await client.get("/ui/")
    assert page.status == 200
    assert 'action="/ui/logout"' in await page.text()


async def test_the_cookie_is_secure_behind_a_trusted_proxy_that_says_https(make_client):
    https = {"X-Forwarded-Proto": "https"}
    untrusted = await make_client()
    assert not set_cookie(await login(untrusted, headers=https), SESSION_COOKIE)["secure"]
    trusted = await make_client(ui_trust_proxy=True)
    assert set_cookie(await login(trusted, headers=https), SESSION_COOKIE)["secure"]


async def test_a_wrong_token_is_refused_without_being_echoed(client):
    with capture_logs() as logs:
        answer = await login(client, token="not-a-token-of-ours-0123456789")
    assert answer.status == 401
    text = await answer.text()
    assert "not one this service accepts" in text
    assert "not-a-token-of-ours" not in text
    assert set_cookie(answer, SESSION_COOKIE) is None
    assert "not-a-token-of-ours" not in repr(logs)
    assert (await client.get("/ui/", allow_redirects=False)).status == 303


async def test_a_login_post_without_the_form_s_token_is_refused(client):
    await client.get("/ui/login")  # the nonce cookie, but not the form's token
    answer = await client.post(
        "/ui/login", data={"token": TOKEN, "csrf": "forged", "next": "/ui/"}, allow_redirects=False
    )
    assert answer.status == 400
    assert set_cookie(answer, SESSION_COOKIE) is None


async def test_a_login_form_token_from_another_browser_is_refused(client, make_client):
    other = await make_client()
    form = await other.get("/ui/login")
    csrf = CSRF.search(await form.text()).group(1)
    await client.get("/ui/login")  # this browser's own nonce
    answer = await client.post(
        "/ui/login", data={"token": TOKEN, "csrf": csrf, "next": "/ui/"}, allow_redirects=False
    )
    assert answer.status == 400


async def test_failed_logins_from_one_address_are_bounded(client):
    for _ in range(MAX_FAILURES):
        assert (await login(client, token="wrong-token-0123456789abcdef")).status == 401
    throttled = await login(client, token=TOKEN)  # even the right token waits now
    assert throttled.status == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert set_cookie(throttled, SESSION_COOKIE) is None


async def test_behind_a_trusted_proxy_the_bound_is_per_forwarded_address(make_client):
    client = await make_client(ui_trust_proxy=True)
    one = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(MAX_FAILURES):
        await login(client, token="wrong-token-0123456789abcdef", headers=one)
    assert (await login(client, headers=one)).status == 429
    other = {"X-Forwarded-For": "198.51.100.9"}
    assert (await login(client, headers=other)).status == 303


async def test_logout_clears_the_session(client):
    await login(client)
    page = await client.get("/ui/")
    csrf = CSRF.search(await page.text()).group(1)
    answer = await client.post("/ui/logout", data={"csrf": csrf}, allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/ui/login"
    assert set_cookie(answer, SESSION_COOKIE).value == ""
    assert (await client.get("/ui/", allow_redirects=False)).status == 303


async def test_logout_without_its_form_token_keeps_the_session(client):
    await login(client)
    answer = await client.post("/ui/logout", data={"csrf": "forged"}, allow_redirects=False)
    assert answer.status == 400
    assert (await client.get("/ui/", allow_redirects=False)).status == 200


async def test_a_session_ends_when_its_token_is_no_longer_configured(make_client, aiohttp_client):
    client = await make_client(tokens=(TOKEN, OTHER_TOKEN))
    answer = await login(client)
    cookie = set_cookie(answer, SESSION_COOKIE).value
    rotated = await make_client(tokens=(OTHER_TOKEN,), ui_secret="s" * 40)
    kept = await make_client(tokens=(TOKEN, OTHER_TOKEN))
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    assert (await kept.get("/ui/", headers=headers, allow_redirects=False)).status == 200
    assert (await rotated.get("/ui/", headers=headers, allow_redirects=False)).status == 303


async def test_without_auth_the_pages_need_no_login(make_client, store, clock):
    await add_gate(store, clock)
    client = await make_client(tokens=(), insecure_no_auth=True)
    assert (await client.get("/ui/")).status == 200
    assert (await client.get("/ui/login", allow_redirects=False)).status == 303


# --- headers, errors, the API -----------------------------------------------------------------


async def test_every_page_carries_the_security_headers(client, store, clock):
    gate_id = await add_gate(store, clock)
    await login(client)
    for path in ("/ui/", f"/ui/gates/{gate_id}", "/ui/login", "/ui/static/ui.css", "/ui/nope"):
        response = await client.get(path, allow_redirects=False)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert "default-src 'none'" in CSP and "script-src" not in CSP


async def test_the_stylesheet_is_served_to_anyone(client):
    response = await client.get("/ui/static/ui.css")
    assert response.status == 200
    assert response.content_type == "text/css"
    assert ".badge" in await response.text()


async def test_an_unknown_page_or_gate_is_an_html_404(client):
    await login(client)
    for path in ("/ui/nope", "/ui/gates/not-an-id", "/ui/gates/gt_01ARZ3NDEKTSV4RRFFQ69G5FAV"):
        response = await client.get(path)
        assert response.status == 404, path
        assert response.content_type == "text/html"


async def test_the_api_still_wants_a_bearer_header(client):
    await login(client)  # a session cookie is no API credential
    response = await client.post("/v1/gate", json={})
    assert response.status == 401
    assert response.content_type == "application/json"


@pytest.mark.parametrize(
    "path", ["/ui/../v1/gate", "/ui/%2E%2E/v1/gate", "/ui%2F..%2Fv1%2Fgate", "/ui/..%2Fv1%2Fgate"]
)
async def test_a_path_under_ui_never_reaches_the_api_without_a_bearer_header(client, path):
    response = await client.post(path, json={}, allow_redirects=False)
    assert response.status in (303, 401, 404), (path, response.status)
    if response.status == 303:
        assert response.headers["Location"].startswith("/ui/login")


async def test_without_a_database_the_pages_say_so(aiohttp_client):
    from gate.server.app import create_app  # noqa: PLC0415
    from gate.server.settings import ServerSettings  # noqa: PLC0415

    client = await aiohttp_client(create_app(ServerSettings(tokens=(TOKEN,))))
    await login(client)
    response = await client.get("/ui/")
    assert response.status == 503
    assert "EVAL_GATE_DATABASE_URL" in await response.text()


# --- the list ---------------------------------------------------------------------------------


async def test_the_list_shows_gates_newest_first_with_their_facts(client, store, clock):
    older = await add_gate(store, clock, verdict="pass", value=0.8, baseline=0.79)
    newer = await add_gate(
        store, clock, verdict="fail", value=0.712, baseline=0.725, pull_number=8, check_run_id=99
    )
    await login(client)
    html = await (await client.get("/ui/")).text()
    assert gate_rows(html) == [newer, older]
    assert 'href="https://github.com/octo-org/detector/pull/8"' in html
    assert 'href="https://github.com/octo-org/detector/runs/99"' in html
    assert f'href="/ui/gates/{newer}"' in html
    assert "0.712" in html and "Δ \u22120.013" in html and "vs 0.725" in html
    assert "eval-1" in html
    assert "5 min" in html


async def test_an_active_gate_says_how_long_it_has_been_waiting(client, store, clock):
    await add_gate(store, clock, status="waiting", step_ms=0)
    clock.advance(3 * HOUR)
    await login(client)
    assert "waiting 3 h" in await (await client.get("/ui/")).text()


async def test_the_list_filters_by_repository_pull_request_status_and_verdict(client, store, clock):
    a7 = await add_gate(store, clock, repository="o/a", pull_number=7, verdict="pass")
    a8 = await add_gate(store, clock, repository="o/a", pull_number=8, verdict="fail")
    b7 = await add_gate(store, clock, repository="o/b", pull_number=7, verdict="fail")
    waiting = await add_gate(store, clock, repository="o/b", status="waiting")
    await login(client)

    async def rows(query):
        response = await client.get(f"/ui/?{query}")
        assert response.status == 200, await response.text()
        return gate_rows(await response.text())

    assert await rows("repository=o/a") == [a8, a7]
    assert await rows("repository=o/a&pull=7") == [a7]
    assert await rows("verdict=fail") == [b7, a8]
    assert await rows("status=waiting") == [waiting]
    assert await rows("repository=o/b&verdict=fail") == [b7]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("repository=not a repo", "owner/name"),
        ("pull=7", "give its repository too"),
        ("repository=o/a&pull=x", "a number"),
        ("status=bogus", "status: one of"),
        ("verdict=maybe", "verdict: one of"),
        ("cursor=bm90LWEtY3Vyc29y", "page link is not valid"),
    ],
)
async def test_a_bad_filter_is_a_400_that_says_what_to_write(client, store, clock, query, problem):
    await add_gate(store, clock)
    await login(client)
    response = await client.get(f"/ui/?{query}")
    assert response.status == 400
    html = await response.text()
    assert problem in html
    assert gate_rows(html) == []


async def test_the_list_pages_by_cursor_through_every_gate_once(client, store, clock):
    ids = [await add_gate(store, clock, step_ms=1000) for _ in range(PAGE_SIZE + 3)]
    await login(client)
    first = await (await client.get("/ui/")).text()
    assert gate_rows(first) == ids[::-1][:PAGE_SIZE]
    older = re.search(r'<a href="([^"]+)" id="older">', first).group(1).replace("&amp;", "&")
    second = await (await client.get(older)).text()
    assert gate_rows(second) == ids[::-1][PAGE_SIZE:]
    assert 'id="older"' not in second
    assert 'id="newest"' in second


async def test_the_list_keeps_its_filters_on_the_next_page(client, store, clock):
    for _ in range(PAGE_SIZE + 1):
        await add_gate(store, clock, repository="o/a", step_ms=1000)
    await add_gate(store, clock, repository="o/other")
    await login(client)
    first = await (await client.get("/ui/?repository=o/a")).text()
    older = re.search(r'<a href="([^"]+)" id="older">', first).group(1).replace("&amp;", "&")
    assert "repository=o%2Fa" in older
    second = await (await client.get(older)).text()
    assert len(gate_rows(second)) == 1


# --- a gate's page ----------------------------------------------------------------------------


async def test_a_gate_page_shows_its_report_as_html_and_its_trend(client, store, clock):
    for value in (0.70, 0.74, 0.78):
        await add_gate(store, clock, value=value)
    gate_id = await add_gate(store, clock, value=0.712, baseline=0.725, verdict="fail")
    await add_gate(store, clock, value=0.9)  # newer: after this gate, not on its chart
    await login(client)
    response = await client.get(f"/ui/gates/{gate_id}")
    assert response.status == 200
    html = await response.text()
    assert '<th class="align-right">value</th>' in html  # a GitHub table, aligned by class
    assert "<s>recall</s>" in html  # strikethrough
    assert "<details><summary>3 passing checks</summary>" in html
    assert 'style="' not in html  # the CSP allows no inline style
    assert "<svg" in html and "<title" in html and "<desc" in html
    assert html.count('class="point ') == 4
    assert 'class="point fail current"' in html
    assert "this gate 0.712" in html
    assert '<table class="sr-only">' in html


async def test_a_gate_without_a_report_yet_says_so(client, store, clock):
    gate_id = await add_gate(store, clock, status="waiting", report=None, value=None)
    await login(client)
    html = await (await client.get(f"/ui/gates/{gate_id}")).text()
    assert "No report yet: the gate is waiting" in html
    assert "No headline metric to chart yet" in html


HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


async def test_hostile_values_are_text_everywhere(client, store, clock):
    gate_id = await add_gate(
        store,
        clock,
        repository=HOSTILE,
        gate_name=HOSTILE,
        metric=HOSTILE,
        evals=[HOSTILE, {"model": HOSTILE, "name": HOSTILE}],
        report=f'# {HOSTILE}\n\n[x](javascript:alert(3)) <a href="javascript:alert(4)">y</a>\n'
        f"<iframe src=//evil></iframe><form action=//evil><input></form>{HOSTILE}",
        error=HOSTILE,
        result={"evals": [{"label": HOSTILE, "url": "javascript:alert(5)"}]},
    )
    await login(client)
    for path in ("/ui/", f"/ui/gates/{gate_id}"):
        html = await (await client.get(path)).text()
        assert "<script>alert" not in html and "<img" not in html, path
        assert 'href="javascript' not in html.lower(), path
        assert "<iframe" not in html and "<form action=//evil" not in html
        assert "&lt;script&gt;" in html, path
    listing = await (await client.get("/ui/")).text()
    assert "github.com" not in listing  # a repository that is not owner/name is no link


async def test_a_javascript_url_in_a_report_link_is_dropped(client, store, clock):
    gate_id = await add_gate(
        store, clock, report="[x](javascript:alert(1)) [y](https://ok.example/)"
    )
    await login(client)
    html = await (await client.get(f"/ui/gates/{gate_id}")).text()
    assert 'href="https://ok.example/"' in html
    assert 'href="javascript' not in html  # markdown-it leaves it as text: inert
    assert "[x](javascript:alert(1))" in html


async def test_links_follow_the_github_web_address(make_client, store, clock):
    gate_id = await add_gate(store, clock, pull_number=3, check_run_id=5)
    client = await make_client(github_api_url="https://ghe.example.com/api/v3")
    await login(client)
    html = await (await client.get(f"/ui/gates/{gate_id}")).text()
    assert 'href="https://ghe.example.com/octo-org/detector/pull/3"' in html
    assert 'href="https://ghe.example.com/octo-org/detector/runs/5"' in html


async def test_the_pages_clock_is_the_app_s(client):
    assert callable(client.app[UI].now_ms)
