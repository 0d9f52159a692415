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

from gate.config.loader import load_config
from gate.core.errors import GateError
from gate.core.evaluate import TOLERANCE, EvalInput, evaluate
from gate.core.model import EvalSpec
from gate.core.outcome import Verdict
from gate.core.results import parse_map_results
from gate.core.strict_json import MAX_DEPTH, MAX_INT_DIGITS, JSONDocumentError, loads
from tests.cli_helpers import cli

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
        if value is None or value < least - TOLERANCE:  # README: comparisons allow 1e-9
            return False
    return True


# --------------------------------------------------------------------------- strategies


def num(value: float) -> Raw:
    return Raw(repr(value))


THRESHOLDS = (0.5, 0.3, 0.2, 0.1)
fractions = st.one_of(
    st.floats(min_value=0.5, max_value=1.0),  # passes every rule above
    # The edges: at a threshold, within the documented 1e-9 tolerance under it, just past it.
    st.sampled_from([d for t in THRESHOLDS for d in (t, math.nextafter(t, 0), t - 1e-8)]),
    st.floats(min_value=0.0, max_value=1.0),
).map(num)
refused_numbers = st.sampled_from(
    [
        Raw("1" + "0" * 5000),  # more digits than int() converts
        Raw("0." + "9" * 150),
        Raw("9" * 101),
    ]
)
HOSTILE_SCALARS = tuple(
    Raw(text)
    for text in (
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "true",
        "false",
        "null",
        '"0.9"',
        '"garbage"',
        '""',
        "-0.0",
        "1",
        "0",
        "2",
        "-0.5",
        "1.0000001",
        "5e-324",
    )
)
hostile_scalars = st.sampled_from(HOSTILE_SCALARS)
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


def tree(data: Any) -> Any:
    """Plain nested dicts (keys unique) and Raw leaves as a tree."""
    if isinstance(data, dict):
        return Obj(tuple((key, tree(value)) for key, value in data.items()))
    return data


def clean_document(map50: float, map50_95: float, car: float, small: float) -> Any:
    """A well-formed detection document with the four checked values."""
    return tree(
        {
            "taskType": Raw(json.dumps(DETECTION)),
            "splits": {
                "test": {
                    "map50": num(map50),
                    "map50_95": num(map50_95),
                    "map75": num(0.8),
                    "byObjectSize": {"small": {"map50": num(small)}, "large": Raw("null")},
                    "perClass": {"car": {"map50": num(car)}, "bus": {"map50": num(0.1)}},
                }
            },
        }
    )


passing_documents = st.builds(
    clean_document,
    st.floats(0.5, 1.0),
    st.floats(0.3, 1.0),
    st.floats(0.2, 1.0),
    st.floats(0.1, 1.0),
)


def edit(node: Any, path: tuple[str, ...], change: Any) -> Any:
    """`node` with `change(parent, key)` applied to the object holding `path[-1]`."""
    if not isinstance(node, Obj):
        return node
    if len(path) == 1:
        return change(node, path[0])
    return Obj(tuple((k, edit(v, path[1:], change) if k == path[0] else v) for k, v in node.pairs))


@st.composite
def near_passes(draw: st.DrawFn) -> Any:
    """A passing document with one to three things wrong where the rules look: a checked
    value (or a container on its way, or taskType) replaced, removed or given a twin key."""
    root = draw(passing_documents)
    paths = [path for path, _ in CHECKED] + [("taskType",)]
    # Weighted by repetition, the usual case first (where Hypothesis leans): one change, at
    # the value a rule reads.
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        full = draw(st.sampled_from(paths))
        path = full[: draw(st.sampled_from([len(full)] * 3 + list(range(1, len(full)))))]
        leaf = path == full
        if leaf and often(draw, 3):  # each catalogued bad value about as often
            bad = draw(st.sampled_from(HOSTILE_SCALARS))
        elif leaf:
            bad = draw(st.one_of(fractions, any_number, junk, refused_numbers, deep_junk))
        else:
            bad = draw(st.one_of(hostile_scalars, junk, st.just(Obj(())), st.just(Arr(()))))
        how = draw(st.sampled_from(["replace"] * 5 + ["remove", "twin before", "twin after"]))
        same = draw(st.booleans())  # a twin carrying the very same (good) value

        def change(
            parent: Obj, name: str, how: str = how, bad: Any = bad, same: bool = same
        ) -> Obj:
            pairs = list(parent.pairs)
            index = next((i for i, (k, _) in enumerate(pairs) if k == name), len(pairs))
            if how == "replace":
                pairs = [(k, bad if k == name else v) for k, v in pairs]
            elif how == "remove":
                pairs = [(k, v) for k, v in pairs if k != name]
            else:  # a twin: the same key again, with a bad value or the very same good one
                twin = (name, dict(pairs).get(name, bad) if same else bad)
                pairs.insert(index if how == "twin before" else index + 1, twin)
            return Obj(tuple(pairs))

        root = edit(root, path, change)
    return root


documents = st.one_of(
    near_passes(), document_strategy(hostile=False), document_strategy(hostile=True)
)


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
    check_the_invariant(config, root)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(root=near_passes())
def test_a_passing_document_with_something_wrong_where_the_rules_look(config, root):
    check_the_invariant(config, root)


def check_the_invariant(config: Any, root: Any) -> None:
    result = gate_text(config, render(root))  # any other exception fails the test (exit 70)
    if result is Verdict.PASS:
        assert may_pass(root), render(root)[:2000]
    if strict_json_refuses(root):
        assert isinstance(result, GateError)


@settings(max_examples=100, deadline=2000)
@given(root=passing_documents)
def test_a_clean_passing_document_does_pass(config, root):
    # The converse on clean documents, so the property above is not vacuous.
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
    proc = cli("check", "-q", "--results", "cand.json", cwd=tmp_path)
    assert proc.code in (0, 1, 2, 3), proc.err
    assert "Traceback" not in proc.err and "internal error" not in proc.err
    if proc.code == 0:
        assert may_pass(root)
    if strict_json_refuses(root):
        assert proc.code == 2
        assert "cand.json" in proc.err
