"""The sdist and wheel `python -m build` makes (what the release publishes to PyPI): the wheel
holds the report templates and the schemas as real files (gate/templates and gate/schema are
links in the repository), and an installed wheel, in a fresh venv, runs `eval-gate`."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env
from tests.paths import REPO

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
SHIPPED = [  # what importlib.resources.files("gate") must find, beside the code
    # the report's templates, and the history pages' (templates/ui/: pages and stylesheet)
    *sorted(p.relative_to(REPO) for p in (REPO / "templates").rglob("*") if p.is_file()),
    *sorted(p.relative_to(REPO) for p in (REPO / "schema").iterdir() if p.is_file()),
]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist, then the wheel built from it (python -m build's default), without the network."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def test_the_wheel_holds_the_templates_and_schemas_as_real_files(dist):
    with zipfile.ZipFile(dist / f"eval_gate-{VERSION}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        assert SHIPPED
        assert Path("templates/ui/base.html.j2") in SHIPPED  # the pages' templates too
        assert Path("templates/ui/ui.css") in SHIPPED
        for shipped in SHIPPED:
            inside = f"gate/{shipped.as_posix()}"
            assert inside in names, inside
            assert wheel.read(inside) == (REPO / shipped).read_bytes(), inside
        assert "gate/action/__main__.py" in names
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "eval-gate = gate.cli.main:main" in wheel.read(entry_points).decode()


def test_the_sdist_builds_the_same_files(dist):
    with tarfile.open(dist / f"eval_gate-{VERSION}.tar.gz") as sdist:
        members = {m.name: m for m in sdist.getmembers()}
        for shipped in SHIPPED:
            member = members[f"eval_gate-{VERSION}/gate/{shipped.as_posix()}"]
            assert member.isfile(), member.name  # a copy, not a link to ../templates
            extracted = sdist.extractfile(member)
            assert extracted is not None
            assert extracted.read() == (REPO / shipped).read_bytes()


def test_the_installed_wheel_runs_the_example_in_a_fresh_venv(dist, tmp_path):
    venv = tmp_path / "venv"
    # Without pip of its own (seeding one is most of a venv's cost): this environment's pip
    # installs into it (`pip --python`), as it would into any interpreter.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    wheel = dist / f"eval_gate-{VERSION}-py3-none-any.whl"
    python = str(bin_dir / "python")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", python),
            *("install", "-q", "--no-deps", "--no-index", str(wheel)),
        ],
        check=True,
        timeout=120,
    )
    # The dependencies from this test's environment, as a plain path: a .pth line is not a
    # site folder, so this environment's own (editable) eval-gate is not seen.
    site = Path(
        subprocess.run(
            [
                str(bin_dir / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = subprocess.run(
        [python, "-I", "-c", "import gate; print(gate.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(site)

    done = subprocess.run(
        [
            *(str(bin_dir / "eval-gate"), "check"),
            *("--config", str(REPO / "examples/eval-gate.yml")),
            *("--results", str(REPO / "examples/results"), "--report", "report.md"),
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # the example fails by design
    assert "Traceback" not in done.stderr
    report = (tmp_path / "report.md").read_text()
    assert "rimdet" in report  # rendered from the wheel's own templates
