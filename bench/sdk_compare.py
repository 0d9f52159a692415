"""How much faster is the gate than a script looping over the official `roboflow` SDK?

The same 32 evaluations (stand-in API on 127.0.0.1, 0.2 s added to every reply) fetched
by (a) a `python -c` process that imports roboflow 1.7.3 and calls
`roboflow.adapters.rfapi.get_model_eval_map_results(api_key, workspace, eval_id)` for each
eval in turn, and (b) one `eval-gate check --eval ... x32 --concurrency 32` process.
Whole-process wall clock, interleaved. Target: the gate is at least 10x faster.

The SDK lives in its own venv, bench/.venv-sdk (created with `pip install roboflow==1.7.3`
on first run). roboflow 1.7.3 resolves its base URL at import time in
`roboflow.config.resolve_url("API_URL")`: the `API_URL` environment variable wins over the
saved login config (~/.config/roboflow/config.json, moved aside here with
ROBOFLOW_CONFIG_DIR) and the region defaults; `_eval_get` builds
`f"{API_URL}/{workspace}/model-evals/{eval_id}/map-results"` and sends the key as
`?api_key=` with `requests.get` (a new connection per call). The timed script asserts that
the override took effect.

    /work/venv/bin/python bench/sdk_compare.py [--runs 5]
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import (
    API_KEY,
    BENCH,
    PYTHON,
    WORKSPACE,
    BenchError,
    Row,
    Stats,
    bench_main,
    checks_in,
    child_env,
    eval_ids,
    expect,
    machine,
    online_gate_cmd,
    run_timed,
    standin,
    write_online_config,
)

LATENCY = 0.2
EVALS = 32
SDK_VERSION = "1.7.3"
SDK_VENV = BENCH / ".venv-sdk"
SDK_PYTHON = SDK_VENV / "bin" / "python"
TARGET_SPEEDUP = 10.0
INSTALL_TIMEOUT = 600.0

# The timed SDK process: import, check the base URL override, loop sequentially.
SDK_LOOP = """\
import os, sys
from roboflow.adapters import rfapi
from roboflow.config import API_URL
if API_URL != os.environ["API_URL"]:
    sys.exit(f"roboflow ignored API_URL: it uses {API_URL}")
fetched = 0
for eval_id in sys.argv[3:]:
    data = rfapi.get_model_eval_map_results(sys.argv[1], sys.argv[2], eval_id)
    fetched += isinstance(data, dict) and "splits" in data
print(fetched)
"""
SDK_IMPORT = "from roboflow.adapters import rfapi"


@dataclass(frozen=True, slots=True)
class Comparison:
    sdk: Stats
    gate: Stats
    sdk_import: Stats
    gate_cpu: Stats

    @property
    def speedup(self) -> float:
        return self.sdk.median / self.gate.median


def ensure_sdk() -> Path:
    """bench/.venv-sdk with roboflow==1.7.3, created and installed if it is not there yet."""
    if not SDK_PYTHON.exists():
        print(f"creating {SDK_VENV.relative_to(BENCH.parent)} ...", flush=True)
        expect(
            run_timed([PYTHON, "-m", "venv", str(SDK_VENV)], timeout=INSTALL_TIMEOUT),
            (0,),
            "python -m venv",
        )
    probe = run_timed([str(SDK_PYTHON), "-c", "import roboflow; print(roboflow.__version__)"])
    if probe.returncode != 0 or probe.stdout.strip() != SDK_VERSION:
        print(f"installing roboflow=={SDK_VERSION} into the SDK venv ...", flush=True)
        expect(
            run_timed(
                [str(SDK_PYTHON), "-m", "pip", "install", "-q", f"roboflow=={SDK_VERSION}"],
                env=child_env(),
                timeout=INSTALL_TIMEOUT,
            ),
            (0,),
            f"pip install roboflow=={SDK_VERSION}",
        )
    return SDK_PYTHON


def measure(runs: int) -> Comparison:
    sdk_python = str(ensure_sdk())
    ids = eval_ids(EVALS)
    sdk_times: list[float] = []
    gate_times: list[float] = []
    import_times: list[float] = []
    gate_cpu: list[float] = []
    with standin(latency=LATENCY, evals=EVALS) as url, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = write_online_config(directory)
        out = directory / "gate.json"
        gate_env = child_env({"ROBOFLOW_API_KEY": API_KEY, "ROBOFLOW_API_URL": url})
        sdk_env = child_env(
            {"API_URL": url, "ROBOFLOW_CONFIG_DIR": str(directory / "no-roboflow-config.json")}
        )
        sdk_cmd = [sdk_python, "-c", SDK_LOOP, API_KEY, WORKSPACE, *ids]
        gate = online_gate_cmd(config, ids, out)
        for index in range(runs + 1):  # the first round warms caches and is not counted
            sdk = expect(run_timed(sdk_cmd, env=sdk_env), (0,), "the roboflow SDK loop")
            if sdk.stdout.strip() != str(EVALS):
                raise BenchError(f"the SDK loop fetched {sdk.stdout.strip()!r} of {EVALS}")
            ours = expect(run_timed(gate, env=gate_env), (0,), "eval-gate check")
            if checks_in(out) != EVALS:
                raise BenchError(f"the gate made {checks_in(out)} checks, expected {EVALS}")
            imported = expect(
                run_timed([sdk_python, "-c", SDK_IMPORT], env=sdk_env), (0,), "import roboflow"
            )
            if index > 0:
                sdk_times.append(sdk.wall)
                gate_times.append(ours.wall)
                import_times.append(imported.wall)
                gate_cpu.append(ours.cpu)
    return Comparison(
        Stats.of(sdk_times), Stats.of(gate_times), Stats.of(import_times), Stats.of(gate_cpu)
    )


def run(runs: int = 5) -> list[Row]:
    print(f"## roboflow SDK {SDK_VERSION} loop vs eval-gate ({machine()})\n")
    result = measure(runs)
    floor = EVALS * LATENCY
    print(f"- SDK, {EVALS} evals one after another: {result.sdk.fmt()}")
    print(f"  (floor {EVALS} x {LATENCY} s = {floor:.1f} s; `import roboflow.adapters.rfapi`")
    print(f"  alone: {result.sdk_import.fmt()})")
    print(f"- eval-gate, {EVALS} evals, --concurrency {EVALS}: {result.gate.fmt()}")
    print(f"  (CPU median {result.gate_cpu.median:.3f} s: wall is about CPU + one round trip)")
    print(
        f"- speedup (medians): {result.speedup:.1f}x "
        f"(mins: {result.sdk.min / result.gate.min:.1f}x), target >= {TARGET_SPEEDUP:g}x"
    )
    print(
        f"- to reach {TARGET_SPEEDUP:g}x the gate run must take <= "
        f"{result.sdk.median / TARGET_SPEEDUP:.3f} s, of which {LATENCY} s is the round trip\n"
    )
    return [
        Row(
            f"SDK loop vs eval-gate, {EVALS} evals",
            f"{result.sdk.median:.2f} s vs {result.gate.median:.3f} s = {result.speedup:.1f}x",
            f">= {TARGET_SPEEDUP:g}x",
            result.speedup >= TARGET_SPEEDUP,
        )
    ]


def main() -> int:
    return bench_main(
        "sdk_compare", __doc__ or "sdk_compare", run, default_runs=5, runs_help="timed runs of each"
    )


if __name__ == "__main__":
    raise SystemExit(main())
