"""A property over generated, hostile map-results documents: the verdict is `pass` only when
every checked value is a finite number in [0, 1] that meets its threshold, and nothing on the
way raises anything but the errors a user is shown (exit 2 or 3), never an unexpected one
(exit 70).

Documents are generated as JSON *text* from a small syntax tree (`Obj` keeps a list of pairs),
so they can hold what a Python dict cannot: duplicate keys. Leaves are wrong types, NaN and
infinities, numbers of thousands of digits, floats that overflow, nesting far past any limit;
any part may be missing. The oracle reads the values the rules check from the tree itself,
not through our parser, so a parser that quietly picks one of two duplicate keys is caught.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.checks import Verdict
from gate.config import load_config
from gate.errors import GateError
from gate.evaluate import EvalInput, evaluate
from gate.results import parse_map_results
from gate.rules import EvalSpec
from gate.strict_json import MAX_DEPTH, MAX_INT_DIGITS, JSONDocumentError, loads
from tests.cli_helpers import run_cli

CONFIG = """\
version: 1
rules:
  - "map50 >= 0.5"
  - metric: map50_95
    min: 0.3
  - metric: map50
    classes: [car]
    min: 0.2
  - metric: map50
    object_size: small
    min: 0.1
"""
# What each rule reads, from the document's root, and the least value that passes.
CHECKED: tuple[tuple[tuple[str, ...], float], ...] = (
    (("splits", "test", "map50"), 0.5),
    (("splits", "test", "map50_95"), 0.3),
    (("splits", "test", "perClass", "car", "map50"), 0.2),
    (("splits", "test", "byObjectSize", "small", "map50"), 0.1),
)
DETECTION = "object-detection-like"


# --------------------------------------------------------------------------- a JSON syntax tree


@dataclass(frozen=True)
class Raw:
    """A scalar exactly as written in the text: a number, a string, true/false/null, NaN..."""

    text: str


@dataclass(frozen=True)
class Deep:
    """`depth` arrays nested around 0.9, kept as one node so that 100,000 levels stay cheap."""

    depth: int


@dataclass(frozen=True)
class Arr:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Obj:
    pairs: tuple[tuple[str, Any], ...]  # duplicates allowed


def render(node: Any) -> str:
    """The node as JSON text (iterative: a node may be nested 100,000 deep)."""
    out: list[str] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):  # an already rendered piece
            out.append(item)
        elif isinstance(item, Raw):
            out.append(item.text)
        elif isinstance(item, Deep):
            out.append("[" * item.depth + "0.9" + "]" * item.depth)
        elif isinstance(item, Arr):
            parts: list[Any] = ["["]
            for index, child in enumerate(item.items):
                parts.extend(([","] if index else []) + [child])
            parts.append("]")
            stack.extend(reversed(parts))
        else:
            parts = ["{"]
            for index, (key, child) in enumerate(item.pairs):
                parts.extend(([","] if index else []) + [json.dumps(key) + ":", child])
            parts.append("}")
            stack.extend(reversed(parts))
    return "".join(out)


def _nodes(node: Any) -> list[Any]:
    found, stack = [], [node]
    while stack:
        item = stack.pop()
        found.append(item)
        if isinstance(item, Arr):
            stack.extend(item.items)
        elif isinstance(item, Obj):
            stack.extend(child for _, child in item.pairs)
    return found


def _depth(node: Any) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Deep):
            deepest = max(deepest, level - 1 + item.depth)
        elif isinstance(item, Arr | Obj):
            deepest = max(deepest, level)
            children = item.items if isinstance(item, Arr) else [c for _, c in item.pairs]
            stack.extend((child, level + 1) for child in children)
    return deepest


def strict_json_refuses(node: Any) -> bool:
    """Would strict JSON (NaN allowed) refuse the text of `node`? Decided on the tree."""
    if _depth(node) > MAX_DEPTH:
        return True
    for item in _nodes(node):
        if isinstance(item, Obj):
            keys = [key for key, _ in item.pairs]
            if len(keys) != len(set(keys)):
                return True
        elif isinstance(item, Raw) and item.text[:1] in "-0123456789":
            mantissa = item.text.lstrip("-").split("e")[0].split("E")[0].replace(".", "")
            if len(mantissa) > MAX_INT_DIGITS:
                return True
    return False


def checked_value(root: Any, path: tuple[str, ...]) -> float | None:
    """The number a rule would check at `path`, read off the (duplicate-free) tree; None when
    there is no valid number there: absent, null, a string, a boolean, NaN, infinite, out of
    [0, 1], or any container on the way is not an object."""
    node = root
    for key in path:
        if not isinstance(node, Obj):
            return None
        values = [child for name, child in node.pairs if name == key]
        if len(values) != 1:
            return None
        node = values[0]
    if not isinstance(node, Raw) or node.text[:1] not in "-0123456789":
        return None
    value = float(node.text)
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def task_type(root: Any) -> str | None:
    if not isinstance(root, Obj):
        return None
    values = [child for name, child in root.pairs if name == "taskType"]
    if len(values) != 1 or not isinstance(values[0], Raw):
        return None
    try:
        text = json.loads(values[0].text)
    except ValueError:
        return None
    return text if isinstance(text, str) else None


def may_pass(root: Any) -> bool:
    """The oracle: only a document like this may pass the gate."""
    if strict_json_refuses(root) or task_type(root) != DETECTION:
        return False
    for path, least in CHECKED:
        value = checked_value(root, path)
        if value is None or value < least:
            return False
    return True


# --------------------------------------------------------------------------- strategies


def num(value: float) -> Raw:
    return Raw(repr(value))


THRESHOLDS = (0.5, 0.3, 0.2, 0.1)
fractions = st.one_of(
    st.floats(min_value=0.5, max_value=1.0),  # passes every rule above
    st.sampled_from([*THRESHOLDS, *(math.nextafter(t, 0) for t in THRESHOLDS)]),  # the edges
    st.floats(min_value=0.0, max_value=1.0),
).map(num)
refused_numbers = st.sampled_from(
    [
        Raw("1" + "0" * 5000),  # more digits than int() converts
        Raw("0." + "9" * 150),
        Raw("9" * 101),
    ]
)
hostile_scalars = st.sampled_from(
    [
        Raw("NaN"),
        Raw("Infinity"),
        Raw("-Infinity"),
        Raw("1e400"),
        Raw("-1e400"),
        Raw("true"),
        Raw("false"),
        Raw("null"),
        Raw('"0.9"'),
        Raw('"garbage"'),
        Raw('""'),
        Raw("-0.0"),
        Raw("1"),
        Raw("0"),
        Raw("2"),
        Raw("-0.5"),
        Raw("1.0000001"),
        Raw("5e-324"),
    ]
)
any_number = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(num),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda i: Raw(str(i))),
)


junk: st.SearchStrategy[Any] = st.recursive(
    st.one_of(hostile_scalars, any_number, st.text(max_size=8).map(lambda s: Raw(json.dumps(s)))),
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda items: Arr(tuple(items))),
        st.dictionaries(st.sampled_from(["map50", "x", "car"]), children, max_size=3).map(
            lambda pairs: Obj(tuple(pairs.items()))
        ),
    ),
    max_leaves=6,
)
deep_junk = st.sampled_from([MAX_DEPTH - 8, MAX_DEPTH - 1, MAX_DEPTH, 1_000, 100_000]).map(Deep)


def often(draw: st.DrawFn, one_in: int) -> bool:
    """True except about once in `one_in` draws. (Hypothesis leans towards a sampled list's
    first element and towards the ends of an integer range, so weights are written this way.)"""
    return draw(st.sampled_from([True] * (one_in - 1) + [False]))


@st.composite
def values(draw: st.DrawFn, *, hostile: bool) -> Any:
    """Mostly plausible values, so that passes happen and near misses are common; a hostile
    document also gets numbers strict JSON refuses and nesting past every limit."""
    if often(draw, 4 if hostile else 10):
        return draw(fractions)
    others = [hostile_scalars, any_number, junk]
    if hostile:
        others += [refused_numbers, deep_junk]
    return draw(st.one_of(*others))


@st.composite
def obj(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], *, hostile: bool) -> Any:
    """An object with some of `fields` (each maybe missing; in a hostile document maybe twice),
    or junk instead."""
    if not often(draw, 30):
        return draw(st.one_of(hostile_scalars, junk))
    pairs = []
    for key, strategy in fields.items():
        if not often(draw, 20):
            continue  # missing
        pairs.append((key, draw(strategy)))
        if hostile and not often(draw, 40):  # the same key again, before or after
            twice = (key, draw(strategy))
            pairs.insert(draw(st.integers(0, len(pairs))), twice)
    if not often(draw, 4):
        pairs.append(("extra", draw(junk)))
    return Obj(tuple(pairs))


def document_strategy(*, hostile: bool) -> st.SearchStrategy[Any]:
    value = values(hostile=hostile)
    metrics = {"map50": value, "map50_95": value, "map75": value}
    split = obj(
        {
            **metrics,
            "byObjectSize": obj(
                {"small": obj(metrics, hostile=hostile), "large": st.just(Raw("null"))},
                hostile=hostile,
            ),
            "perClass": obj(
                {"car": obj(metrics, hostile=hostile), "bus": obj(metrics, hostile=hostile)},
                hostile=hostile,
            ),
        },
        hostile=hostile,
    )
    task = st.sampled_from(
        [
            Raw(json.dumps(DETECTION)),
            Raw('"semantic-segmentation"'),
            Raw('"classification"'),
            Raw("1"),
            Raw("null"),
            Raw("[]"),
        ]
    )
    return obj(
        {
            "taskType": st.one_of(st.just(Raw(json.dumps(DETECTION))), task),
            "splits": obj({"test": split, "valid": split}, hostile=hostile),
        },
        hostile=hostile,
    )


documents = st.one_of(document_strategy(hostile=False), document_strategy(hostile=True))


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG, "gate.yml")


def gate_text(config: Any, text: str) -> Verdict | GateError:
    """The pure path a saved results file takes: strict JSON, then parse, then evaluate."""
    try:
        data = loads(text.encode("utf-8"), allow_nan=True)
    except JSONDocumentError as exc:
        return GateError(exc.reason)  # exit 2 for a file, 3 for an answer: never a pass
    try:
        results = parse_map_results(data, "cand")
        outcome = evaluate(config, [EvalInput(spec=EvalSpec("cand"), results=results)])
    except GateError as error:  # MalformedResults (exit 3), ConfigError (exit 2)
        return error
    return outcome.verdict


@settings(
    max_examples=200,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(root=documents)
def test_a_generated_document_passes_only_when_every_checked_value_does(config, root):
    result = gate_text(config, render(root))  # any other exception fails the test (exit 70)
    if result is Verdict.PASS:
        assert may_pass(root), render(root)[:2000]
    if strict_json_refuses(root):
        assert isinstance(result, GateError)


@settings(max_examples=100, deadline=2000)
@given(
    test=st.fixed_dictionaries(
        {"map50": st.floats(0.5, 1.0), "map50_95": st.floats(0.3, 1.0), "car": st.floats(0.2, 1.0)}
    ),
    small=st.floats(0.1, 1.0),
)
def test_a_clean_passing_document_does_pass(config, test, small):
    # The converse on clean documents, so the property above is not vacuous.
    metrics = (("map50", num(test["map50"])), ("map50_95", num(test["map50_95"])))
    root = Obj(
        (
            ("taskType", Raw(json.dumps(DETECTION))),
            (
                "splits",
                Obj(
                    (
                        (
                            "test",
                            Obj(
                                (
                                    *metrics,
                                    (
                                        "byObjectSize",
                                        Obj((("small", Obj((("map50", num(small)),))),)),
                                    ),
                                    (
                                        "perClass",
                                        Obj((("car", Obj((("map50", num(test["car"])),))),)),
                                    ),
                                )
                            ),
                        ),
                    )
                ),
            ),
        )
    )
    assert may_pass(root)
    assert gate_text(config, render(root)) is Verdict.PASS


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(root=documents)
def test_generated_documents_through_the_command_line(tmp_path: Path, root):
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    (tmp_path / "cand.json").write_text(render(root))
    proc = run_cli("check", "-q", "--results", "cand.json", cwd=tmp_path)
    assert proc.code in (0, 1, 2, 3), proc.err
    assert "Traceback" not in proc.err and "internal error" not in proc.err
    if proc.code == 0:
        assert may_pass(root)
    if strict_json_refuses(root):
        assert proc.code == 2
        assert "cand.json" in proc.err
