"""Render eval-gate's report the way GitHub shows a PR comment, and take a screenshot of it.

For each scenario: run `eval-gate check` (this checkout's `gate/`, with the interpreter running
this script), turn the printed report (shortened to the PR comment's limit, as the Action
posts it) into HTML with cmark-gfm (GitHub's own Markdown renderer, with GitHub's extensions
and comment line breaks), lay it out in a comment box with GitHub's stylesheet
(github-markdown-css, 14 px like a comment) and take a screenshot of the first screen with a
headless Chromium.

Scenarios: `3` is the bundled example (examples/eval-gate.yml, examples/results/), `300`
the parts detector of examples/large/ (committed results), `2000` the same detector with
2,000 classes (generated with examples/large/generate.py into a temp folder).

    apt-get install cmark-gfm chromium fonts-noto-color-emoji    # once
    python tools/screenshot_comment.py              # 3, 300 and 2000 -> /tmp/eval-gate-shots/
    python tools/screenshot_comment.py --scenario 300 --name comment-300-classes \
        && cp /tmp/eval-gate-shots/comment-300-classes.png docs/   # the docs' picture
    python tools/screenshot_comment.py --height 3000  # more than the first screen

Each scenario writes NAME.md (the comment's Markdown), NAME.html and NAME.png (so not into
docs/, where a stray page fails `mkdocs build --strict`: copy the picture there). The
stylesheet comes from the npm package `github-markdown-css` (installed with npm into
~/.cache/eval-gate-screenshot on first use, or given with --css).
"""

# ruff: noqa: T201, S603, S607 - a script: it prints, and runs npm, cmark-gfm and chromium

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CMARK = ["cmark-gfm", "--unsafe", "--hardbreaks", "--github-pre-lang", "--validate-utf8"]
CMARK += [arg for ext in ("table", "strikethrough", "autolink", "tagfilter", "tasklist")
          for arg in ("-e", ext)]  # fmt: skip
CSS_PACKAGE = "github-markdown-css@5"
CSS_CACHE = Path.home() / ".cache" / "eval-gate-screenshot"
COMMENT_MAX_CHARS = (
    65_000  # what the Action gives the comment (gate.report.render.DEFAULT_MAX_CHARS)
)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>{css}</style>
<style>
  body {{ margin: 0; background: #fff; font-family: -apple-system, BlinkMacSystemFont,
         "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }}
  .timeline {{ display: flex; gap: 16px; padding: 16px 16px 0 16px; }}
  .avatar {{ width: 40px; height: 40px; border-radius: 50%; background: #2da44e; flex: none; }}
  .comment {{ flex: 1; min-width: 0; border: 1px solid #d0d7de; border-radius: 6px; }}
  .comment-header {{ background: #f6f8fa; border-bottom: 1px solid #d0d7de; padding: 8px 16px;
                    font-size: 14px; color: #57606a; border-radius: 6px 6px 0 0; }}
  .comment-header b {{ color: #1f2328; }}
  .markdown-body {{ font-size: 14px; padding: 16px; }}
</style></head>
<body><div class="timeline"><div class="avatar"></div><div class="comment">
<div class="comment-header"><b>github-actions</b> <span>bot</span> commented</div>
<div class="markdown-body">
{body}
</div></div></div></body></html>
"""


def css_path(given: Path | None) -> Path:
    if given is not None:
        return given
    found = CSS_CACHE / "node_modules" / "github-markdown-css" / "github-markdown-light.css"
    if not found.is_file():
        CSS_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-save", "--prefix", str(CSS_CACHE), CSS_PACKAGE],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return found


def gate_report(config: Path, results: Path, max_chars: int) -> str:
    """The report `eval-gate check` prints (exit 1 is a failed gate, not an error)."""
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "gate", "check", "--config", str(config)),
            *("--results", str(results), "--max-chars", str(max_chars), "--log-level", "error"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"eval-gate check failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def scenario_inputs(name: str, scratch: Path) -> tuple[Path, Path]:
    if name == "3":
        return REPO / "examples/eval-gate.yml", REPO / "examples/results"
    large = REPO / "examples/large"
    if name == "300":
        return large / "eval-gate.yml", large / "results"
    out = scratch / f"results-{name}"
    subprocess.run(
        [sys.executable, str(large / "generate.py"), "--classes", name, "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return large / "eval-gate.yml", out


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                *(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"),
                *(f"--user-data-dir={profile}", "--force-device-scale-factor=1"),
                *(f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()),
            ],
            check=True,
            capture_output=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        nargs="+",
        default=["3", "300", "2000"],
        help="3, 300 and/or any number of classes (default: 3 300 2000)",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=Path(tempfile.gettempdir()) / "eval-gate-shots"
    )
    parser.add_argument("--name", help="file name stem (one scenario only; default comment-N)")
    parser.add_argument("--width", type=int, default=1012)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--max-chars", type=int, default=COMMENT_MAX_CHARS)
    parser.add_argument("--css", type=Path, help="github-markdown-light.css (default: npm)")
    args = parser.parse_args()
    if args.name and len(args.scenario) != 1:
        parser.error("--name needs exactly one --scenario")
    css = css_path(args.css).read_text(encoding="utf-8")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenario:
            config, results = scenario_inputs(scenario, Path(tmp))
            markdown = gate_report(config, results, args.max_chars)
            stem = args.name or f"comment-{scenario}"
            (args.out_dir / f"{stem}.md").write_text(markdown, encoding="utf-8")
            body = subprocess.run(
                CMARK, input=markdown, capture_output=True, text=True, check=True
            ).stdout
            page = args.out_dir / f"{stem}.html"
            page.write_text(
                PAGE.format(title=html.escape(stem), css=css, body=body), encoding="utf-8"
            )
            png = args.out_dir / f"{stem}.png"
            screenshot(page.resolve(), png.resolve(), args.width, args.height)
            lines = markdown.count("\n")
            print(f"{png}: {len(markdown):,} characters, {lines:,} lines of Markdown")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
