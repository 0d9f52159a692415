"""Screenshots of the service's history pages, for the README and docs/service/history.md.

Seeds a temporary SQLite store with example gates (tools/ui_browser.py: three repositories,
passes, a warning, failures, one waiting, one error; the reports are the bundled example's),
serves `eval-gate serve`'s app on a loopback port, logs in with headless Chromium (Selenium,
Debian's chromium and chromium-driver) and takes two pictures: the list and a failed gate's
page with its trend chart.

    apt-get install chromium chromium-driver     # once
    python tools/screenshot_history.py           # -> docs/history-list.png, docs/history-gate.png
    python tools/screenshot_history.py --out-dir /tmp/shots
"""

# ruff: noqa: T201 - a script: it prints where the pictures went

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from selenium.webdriver.common.by import By  # noqa: E402

from gate.server.app import create_app  # noqa: E402
from gate.server.settings import ServerSettings  # noqa: E402
from gate.server.ui import UI  # noqa: E402
from gate.store import open_store  # noqa: E402
from tools.ui_browser import Clock, chromium, example_report, live_server, seed_examples  # noqa: E402

NOW = 1_803_304_800_000  # 2027-02-23 14:00 UTC: the pictures do not change from day to day
TOKEN = "screenshot-token-0123456789abcdef"  # noqa: S105 - the throwaway server's own


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    report = example_report()
    ids: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="eval-gate-shots-") as tmp:
        clock = Clock(NOW)
        store = open_store(f"sqlite:///{tmp}/gates.db", clock=clock)

        async def build():  # noqa: ANN202 - the live server's factory
            await store.upgrade()
            ids.update(await seed_examples(store, clock, report, now_ms=NOW))
            app = create_app(ServerSettings(tokens=(TOKEN,)), store=store)
            app[UI].now_ms = lambda: NOW
            return app

        with live_server(build, store.close) as server, chromium(args.width, 900) as browser:
            browser.get(f"{server.url}/ui/")
            browser.find_element(By.ID, "token").send_keys(TOKEN)
            browser.find_element(By.ID, "login").click()
            browser.find_element(By.CSS_SELECTOR, "table.gates")
            shots = {"history-list.png": (f"{server.url}/ui/", 900)}
            shots["history-gate.png"] = (f"{server.url}/ui/gates/{ids['current']}", 1180)
            for name, (url, height) in shots.items():
                browser.set_window_size(args.width, height)
                browser.get(url)
                path = args.out_dir / name
                browser.save_screenshot(str(path))
                print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
