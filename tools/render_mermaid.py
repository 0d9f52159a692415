"""Render the Mermaid charts of an eval-gate report to PNG with Mermaid's own CLI (mmdc),
which drives a headless Chromium: proof that the trend chart the report carries renders.

    npm install --prefix /tmp/mmdc @mermaid-js/mermaid-cli     # once (PUPPETEER_SKIP_DOWNLOAD=1
    apt-get install chromium                                   #  with Debian's chromium)
    python tools/render_mermaid.py report.md --out docs/trend-chart.png \\
        --mmdc /tmp/mmdc/node_modules/.bin/mmdc

Takes the report's first ```mermaid block (`--index N` for another), writes it to a .mmd
file and runs mmdc on it with a puppeteer config pointing at Chromium (`--chromium`, default
`/usr/bin/chromium`; sandbox off, no network beyond the page, no GPU). Exits 1 when the report
has no such block or mmdc fails (its error printed).
"""

# ruff: noqa: T201, S603 - a script: it prints, and runs mmdc

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def mermaid_blocks(markdown: str) -> list[str]:
    """The text of every ```mermaid fenced block in `markdown`, in order."""
    return [match.group(1) for match in _BLOCK.finditer(markdown)]


def render(
    chart: str, out: Path, *, mmdc: str, chromium: str, width: int = 800, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run mmdc on `chart`, writing the picture to `out` (its suffix picks the format)."""
    with tempfile.TemporaryDirectory(prefix="eval-gate-mermaid-") as tmp:
        source = Path(tmp) / "chart.mmd"
        source.write_text(chart, encoding="utf-8")
        config = Path(tmp) / "puppeteer.json"
        config.write_text(json.dumps({"executablePath": chromium, "args": CHROMIUM_ARGS}))
        command = [mmdc, "-i", str(source), "-o", str(out), "-p", str(config)]
        command += ["-w", str(width), "-b", "white", "-q"]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a Markdown report holding a mermaid block")
    parser.add_argument("--out", type=Path, default=Path("trend-chart.png"))
    parser.add_argument("--index", type=int, default=0, help="which mermaid block (from 0)")
    parser.add_argument("--mmdc", default=shutil.which("mmdc") or "mmdc")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--source-out", type=Path, help="also write the chart's Mermaid text")
    args = parser.parse_args(argv)
    blocks = mermaid_blocks(args.report.read_text(encoding="utf-8"))
    if len(blocks) <= args.index:
        print(f"{args.report}: no mermaid block number {args.index}", file=sys.stderr)
        return 1
    if args.source_out is not None:
        args.source_out.write_text(blocks[args.index], encoding="utf-8")
    done = render(
        blocks[args.index], args.out, mmdc=args.mmdc, chromium=args.chromium, width=args.width
    )
    if done.returncode != 0 or not args.out.is_file():
        print(f"mmdc failed ({done.returncode}): {done.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
