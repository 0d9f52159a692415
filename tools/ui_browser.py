"""The history pages in a real browser: Debian's headless Chromium driven by Selenium through
Debian's chromedriver, the service on a loopback port, and example gates to show.

Shared by the browser tests (tests/server/ui/test_ui_browser.py) and the screenshots
(tools/screenshot_history.py), so both see the pages the same way.

    apt-get install chromium chromium-driver     # once (.ci/run does it when they are missing)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from gate.store import Store

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
BROWSERS = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
HOUR = 3_600_000
MINUTE = 60_000


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) from Debian's packages, or None when either is missing."""
    browser = next((b for b in BROWSERS if Path(b).is_file()), None) or shutil.which("chromium")
    driver = next((d for d in DRIVERS if Path(d).is_file()), None) or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, its console log kept (`get_log("browser")`)."""
    from selenium import webdriver  # noqa: PLC0415 - the test extra's
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    found = find_browser()
    if found is None:
        raise RuntimeError("chromium and chromium-driver are needed (apt-get install both)")
    browser, driver_path = found
    with tempfile.TemporaryDirectory(prefix="eval-gate-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            driver.set_page_load_timeout(30)
            yield driver
        finally:
            driver.quit()


@dataclass
class LiveServer:
    """An aiohttp app served on 127.0.0.1 from a thread of its own (Selenium is synchronous)."""

    url: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Awaitable[Any]) -> Any:
        """Run `coroutine` on the server's loop (e.g. to add gates to its store) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)  # type: ignore[arg-type]


@contextlib.contextmanager
def live_server(
    build: Callable[[], Awaitable[web.Application]],
    close: Callable[[], Awaitable[None]] | None = None,
) -> Iterator[LiveServer]:
    """Serve the app `build()` makes (on the server's own loop) until the block ends."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(await build(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state["runner"] = runner
        state["port"] = runner.addresses[0][1]

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            state["error"] = error
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="eval-gate-ui-server", daemon=True)
    thread.start()
    ready.wait(60)
    if "error" in state:
        raise state["error"]
    server = LiveServer(f"http://127.0.0.1:{state['port']}", loop)
    try:
        yield server
    finally:

        async def stop() -> None:
            await state["runner"].cleanup()
            if close is not None:
                await close()

        server.run(stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


# --- example gates ----------------------------------------------------------------------------


@dataclass
class Clock:
    """Milliseconds since the epoch: the store's clock, moved while gates are added."""

    now: int

    def __call__(self) -> int:
        return self.now


async def add_gate(
    store: Store,
    clock: Clock,
    *,
    repository: str,
    pull_number: int,
    gate_name: str,
    status: str,
    verdict: str | None,
    value: float | None,
    baseline: float | None,
    report: str | None,
    evals: list[dict[str, Any]],
    waited_ms: int,
    check_run_id: int | None,
    sha: str,
    metric: str = "mAP@50",
    error: str | None = None,
) -> str:
    """A gate as a worker leaves it (inserted, claimed, updated under its lease); its id."""
    from gate.store import NewGate  # noqa: PLC0415

    request = {"evals": [e["id"] for e in evals], "config": {"version": 1}}
    async with store.transaction() as tx:
        gate = (
            await tx.insert_gate(
                NewGate(
                    request=request,
                    max_wait_ms=24 * HOUR,
                    repository=repository,
                    pull_number=pull_number,
                    sha=sha,
                    gate_name=gate_name,
                )
            )
        ).gate
        (claimed,) = await tx.claim_gates("examples", clock(), 60_000, 1)
        changes: dict[str, Any] = {"status": status, "next_run_at": None}
        changes["check_run_id"] = check_run_id
        if status in ("queued", "waiting"):
            changes["waiting_for"] = [e["label"] for e in evals]
        else:
            headline = None
            if value is not None:
                delta = None if baseline is None else value - baseline
                headline = {"metric": metric, "value": value, "baseline": baseline, "delta": delta}
            changes.update(
                verdict=verdict,
                headline=headline,
                report=report,
                error=error,
                result={"evals": evals} if status == "done" else None,
                finished_at=gate.created_at + waited_ms,
            )
        await tx.update_gate(claimed.id, "examples", clock(), release=True, **changes)
    return gate.id


def _sha(number: int) -> str:
    return hashlib.sha1(f"example commit {number}".encode()).hexdigest()  # noqa: S324 - a name


def _evals(model: str, version: int) -> list[dict[str, Any]]:
    return [
        {
            "label": f"{model} v{version}",
            "id": f"{model}-v{version}",
            "url": f"https://app.roboflow.com/acme-vision/model-evals/{model}-v{version}",
        }
    ]


async def seed_examples(
    store: Store, clock: Clock, report: str, *, now_ms: int, hostile: bool = False
) -> dict[str, str]:
    """About twenty gates over three repositories, the newest `now_ms`: passes, a warning,
    failures, one still waiting, one error; `hostile` adds one whose names are markup. Their
    ids by role: `current` (a failed gate with a report and a trend), `waiting`, `hostile`."""
    ids: dict[str, str] = {}
    trend = [0.861, 0.866, 0.872, 0.869, 0.878, 0.881, 0.879, 0.886, 0.884, 0.891, 0.889, 0.893]
    start = now_ms - 40 * HOUR
    clock.now = start
    for index, value in enumerate(trend):
        clock.now = start + index * 3 * HOUR
        previous = trend[index - 1] if index else 0.86
        verdict = "warn" if index == 3 else "pass"
        ids[f"rim-{index}"] = await add_gate(
            store,
            clock,
            repository="acme-vision/rim-detector",
            pull_number=140 + index,
            gate_name="rim detector",
            status="done",
            verdict=verdict,
            value=value,
            baseline=previous,
            report=report,
            evals=_evals("rimdet", 40 + index),
            waited_ms=(4 + index % 5) * MINUTE,
            check_run_id=31_000_000 + index,
            sha=_sha(index),
        )
    clock.now = start + 36 * HOUR
    ids["current"] = await add_gate(
        store,
        clock,
        repository="acme-vision/rim-detector",
        pull_number=153,
        gate_name="rim detector",
        status="done",
        verdict="fail",
        value=0.864,
        baseline=0.893,
        report=report,
        evals=_evals("rimdet", 52),
        waited_ms=7 * MINUTE,
        check_run_id=31_000_099,
        sha=_sha(99),
    )
    others = [
        ("acme-vision/road-segmenter", 88, "road segmenter", "pass", 0.712, 0.705, "IoU"),
        ("acme-vision/road-segmenter", 89, "road segmenter", "fail", 0.661, 0.712, "IoU"),
        ("acme-vision/shelf-ocr", 12, "shelf ocr", "pass", 0.944, 0.941, "mAP@50"),
    ]
    for offset, (repository, pull, name, verdict, value, baseline, metric) in enumerate(others):
        clock.now = start + (37 + offset) * HOUR
        ids[f"{name}-{pull}"] = await add_gate(
            store,
            clock,
            repository=repository,
            pull_number=pull,
            gate_name=name,
            status="done",
            verdict=verdict,
            value=value,
            baseline=baseline,
            report=report,
            evals=_evals(name.replace(" ", "-"), pull),
            waited_ms=(11 + offset) * MINUTE,
            check_run_id=32_000_000 + pull,
            sha=_sha(200 + offset),
            metric=metric,
        )
    clock.now = start + 39 * HOUR + 30 * MINUTE
    ids["error"] = await add_gate(
        store,
        clock,
        repository="acme-vision/shelf-ocr",
        pull_number=13,
        gate_name="shelf ocr",
        status="error",
        verdict=None,
        value=None,
        baseline=None,
        report=None,
        evals=_evals("shelf-ocr", 13),
        waited_ms=2 * MINUTE,
        check_run_id=32_000_013,
        sha=_sha(300),
        error="Roboflow answered 404 for evaluation shelf-ocr-v13: check the id in the workflow",
    )
    clock.now = now_ms - 3 * HOUR - 12 * MINUTE
    ids["waiting"] = await add_gate(
        store,
        clock,
        repository="acme-vision/rim-detector",
        pull_number=154,
        gate_name="rim detector",
        status="waiting",
        verdict=None,
        value=None,
        baseline=None,
        report=None,
        evals=_evals("rimdet", 53),
        waited_ms=0,
        check_run_id=31_000_100,
        sha=_sha(100),
    )
    if hostile:
        clock.now = now_ms - HOUR
        markup = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
        ids["hostile"] = await add_gate(
            store,
            clock,
            repository=f"evil/{markup}",
            pull_number=1,
            gate_name=markup,
            status="done",
            verdict="fail",
            value=0.5,
            baseline=0.6,
            report=f'# {markup}\n\n[click](javascript:alert(3)) <a href="javascript:alert(4)">'
            f'x</a> <iframe src="javascript:alert(5)"></iframe>\n\n| {markup} |\n|---|\n| x |\n',
            evals=[{"label": markup, "id": markup, "url": "javascript:alert(6)"}],
            waited_ms=MINUTE,
            check_run_id=1,
            sha=_sha(400),
            metric=markup,
            error=markup,
        )
    clock.now = now_ms
    return ids


def example_report() -> str:
    """The bundled example's report (examples/), as `eval-gate check` prints it."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [
            *(sys.executable, "-m", "gate", "check", "--config", "examples/eval-gate.yml"),
            *("--results", "examples/results", "--log-level", "error"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"eval-gate check failed ({done.returncode}): {done.stderr[-500:]}")
    return done.stdout
