"""Write the map-results of a large parts detector and of its baseline, for the example gate.

The scenario of issue #12: a detector with many classes (300 by default), gated by
`eval-gate.yml` beside this script — one split-level floor, a per-class floor and a per-class
regression rule. With the fixed seed, 300 classes give 601 checks of which 194 fail: the
split-level floor, 72 classes under the per-class floor and 121 classes that dropped more
than allowed (about 40% of the classes got worse by more than the tolerance, most of the
rest moved a little either way).

    python examples/large/generate.py                       # examples/large/results/ (300)
    python examples/large/generate.py --classes 2000 --out /tmp/parts-2000

then

    eval-gate check --config examples/large/eval-gate.yml --results examples/large/results/

Only the standard library is used, so it runs with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

SEED = 12
CANDIDATE = "partdet-v8"
BASELINE = "partdet-v7"
BELOW_FLOOR = 0.24  # share of classes under the per-class floor (0.50)
DROPPED = 0.404  # share of classes that lost more than the allowed drop (0.05)

_KINDS = (
    "hex bolt", "socket screw", "flange nut", "lock nut", "washer", "spring washer",
    "ball bearing", "spur gear", "dowel pin", "rivet", "circlip", "gasket",
    "hinge", "bracket", "T-slot nut", "cable tie", "grommet", "standoff", "spacer", "set screw",
)  # fmt: skip
_SIZES = ("M2", "M3", "M4", "M5", "M6", "M8", "M10", "M12", "M14", "M16", "M20", "M24",
          "M30", "M36", "M42")  # fmt: skip
_FINISHES = ("", " zinc", " brass", " nylon", " black oxide", " stainless", " galvanised", " A4")
# Class names come from an API and are escaped in the report; two of them show it.
_ODD_NAMES = {41: "o-ring <Ø12> | nitrile", 158: "@qa-team *test part*"}


def class_names(count: int) -> list[str]:
    names = [f"{kind} {size}{finish}" for finish in _FINISHES for kind in _KINDS for size in _SIZES]
    if count > len(names):
        names += [f"part-{index:05d}" for index in range(len(names), count)]
    names = names[:count]
    for index, odd in _ODD_NAMES.items():
        if index < count:
            names[index] = odd
    return names


def _entry(map50: float) -> dict[str, float]:
    return {
        "map50": round(map50, 4),
        "map50_95": round(map50 * 0.78, 4),
        "map75": round(map50 * 0.9, 4),
    }


def _document(per_class: dict[str, float], map50_95: float) -> dict[str, Any]:
    mean = sum(per_class.values()) / len(per_class)
    split = {
        "map50": round(mean, 4),
        "map50_95": map50_95,
        "map75": round(mean * 0.9, 4),
        "perClass": {name: _entry(value) for name, value in per_class.items()},
    }
    return {"taskType": "object-detection-like", "splits": {"test": split}}


def generate(count: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The candidate's and the baseline's map-results, for `count` classes."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible example data, not security
    names = class_names(count)
    below = set(rng.sample(range(count), round(count * BELOW_FLOOR)))
    dropped = set(rng.sample(range(count), round(count * DROPPED)))
    candidate: dict[str, float] = {}
    baseline: dict[str, float] = {}
    for index, name in enumerate(names):
        value = rng.uniform(0.36, 0.497) if index in below else rng.uniform(0.505, 0.93)
        if index in dropped:
            base = min(0.99, value + rng.uniform(0.052, 0.2))
        else:
            base = value + rng.uniform(-0.045, 0.045)
        candidate[name] = round(value, 4)
        baseline[name] = round(min(0.99, max(0.0, base)), 4)
    return _document(candidate, 0.683), _document(baseline, 0.701)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=300, help="how many classes (300)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="where to write <eval id>.json (examples/large/results/)",
    )
    args = parser.parse_args()
    candidate, baseline = generate(args.classes)
    args.out.mkdir(parents=True, exist_ok=True)
    for eval_id, document in ((CANDIDATE, candidate), (BASELINE, baseline)):
        path = args.out / f"{eval_id}.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(path)  # noqa: T201 - a script: it says what it wrote
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
