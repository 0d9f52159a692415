"""gate.core.strict_json: the one reader of JSON we did not write, refusing what loads bends."""

from __future__ import annotations

import json
import math
import time

import pytest

from gate.core.strict_json import MAX_DEPTH, MAX_INT_DIGITS, JSONDocumentError, decode_utf8, loads


def refused(data: bytes | str, **kw) -> JSONDocumentError:
    with pytest.raises(JSONDocumentError) as info:
        loads(data, **kw)
    error = info.value
    assert "\n" not in error.reason
    return error


def test_plain_documents_read_as_json_loads_reads_them():
    text = '{"a": [1, -2.5e-3, "x\\u00e9", true, false, null, {"b": {}}], "c": 0}'
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)
    assert loads(b"\xef\xbb\xbf[1]") == [1]  # a byte-order mark is skipped


@pytest.mark.parametrize(
    ("text", "key", "line", "column"),
    [
        ('{"map50": "garbage", "map50": 0.924}', "map50", 1, 22),
        ('{"a": {"m": 1,\n  "m": 2}}', "m", 2, 3),
        ('[{"k": 1}, {"k": 1, "k": 1}]', "k", 1, 21),
        ('{"\\u0061": 1, "a": 2}', "a", 1, 15),  # the same key, written two ways
        ('{"a": {"a": 1}, "b": 2, "a": 3}', "a", 1, 25),  # nested same name is fine; this isn't
    ],
)
def test_duplicate_keys_are_refused_and_located(text, key, line, column):
    error = refused(text)
    assert error.problem == f"duplicate key {key!r} in one object"
    assert (error.line, error.column) == (line, column)
    assert error.reason == f"{error.problem} at line {line} column {column}"
    assert not error.syntax_error


def test_same_key_in_different_objects_is_fine():
    assert loads('[{"a": 1}, {"a": 2}, {"b": {"a": 3}}]') == [{"a": 1}, {"a": 2}, {"b": {"a": 3}}]


def test_long_numbers_are_refused_before_conversion():
    at_limit = "9" * MAX_INT_DIGITS
    assert loads(f"[{at_limit}]") == [int(at_limit)]
    error = refused("[1, " + "7" * 5000 + "]")
    assert error.problem == "a number with 5,000 digits (at most 100 are accepted)"
    assert (error.line, error.column) == (1, 5)
    assert "digits" in refused("0." + "1" * (MAX_INT_DIGITS + 1)).problem
    assert "characters" in refused("1e" + "1" * 200).problem


def test_float_overflow_is_refused_unless_nan_is_allowed():
    assert "too large for a float" in refused("[1e400]").problem
    assert loads("[1e400]", allow_nan=True) == [math.inf]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity(constant):
    error = refused(f'{{"x": {constant}}}')
    assert error.problem.startswith(f"{constant} is not a JSON number")
    assert (error.line, error.column) == (1, 7)
    value = loads(f'{{"x": {constant}}}', allow_nan=True)["x"]
    assert math.isnan(value) if constant == "NaN" else math.isinf(value)


@pytest.mark.parametrize("closed", [True, False])
def test_deep_nesting_is_refused_without_recursion(closed):
    depth = 100_000
    text = "[" * depth + ("]" * depth if closed else "")
    started = time.perf_counter()
    error = refused(text)
    assert time.perf_counter() - started < 2
    assert error.problem == f"nested too deeply (at most {MAX_DEPTH} levels of arrays and objects)"
    assert (error.line, error.column) == (1, MAX_DEPTH + 1)
    assert not error.syntax_error


def test_nesting_up_to_the_limit_is_accepted_and_one_more_is_not():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads('{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH) is not None
    # Deeper than the limit but shallow enough for json's own recursion: still refused.
    error = refused('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1))
    assert error.column == 5 * MAX_DEPTH + 1


def test_invalid_json_is_a_syntax_error_with_its_position():
    error = refused('{"a": 1,\n "b": }')
    assert error.syntax_error
    assert (error.line, error.column) == (2, 7)
    assert error.reason == "not valid JSON: Expecting value at line 2 column 7"


def test_non_utf8_says_where():
    error = refused(b'{"a": "caf\xe9"}')
    assert error.reason == "not UTF-8 at line 1 column 11 (byte 0xE9 at byte offset 10)"
    assert not error.syntax_error
    # A character cut by the end of the data: the body may have been truncated.
    assert refused(b'{"a": "caf\xc3').syntax_error


def test_decode_utf8_counts_characters_not_bytes():
    with pytest.raises(JSONDocumentError) as info:
        decode_utf8("é€\nxé".encode() + b"\xff")
    assert (info.value.line, info.value.column) == (2, 3)
    assert "byte offset 9" in info.value.reason


def test_a_refused_document_in_megabytes_is_located_in_seconds():
    splits = {f"class{i}": {"map50": 0.5, "map75": [1, 2, 3]} for i in range(100_000)}
    text = json.dumps({"splits": splits})[:-2] + ', "class0": 1}}'
    started = time.perf_counter()
    error = refused(text)
    # a hang guard, not a timing: a quadratic search over these 3 MB would take hours, the
    # linear one takes well under a second (the bound is wide so a loaded machine never trips it)
    assert time.perf_counter() - started < 60
    assert error.problem == "duplicate key 'class0' in one object"
    assert error.column == len(text) - len('"class0": 1}}') + 1
