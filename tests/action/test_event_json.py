"""The Actions event file is read as strict JSON: a payload that two readers could read two ways
(duplicate keys) names no pull request, instead of the last of two numbers winning."""

from __future__ import annotations

from gate.action.event import read_event


def event_env(path, name: str = "pull_request") -> dict[str, str]:
    return {
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "octo/repo",
    }


PULL = b'{"number": %d, "pull_request": {"number": %d, "head": {"sha": "%s"}}, %s}'
SHA = b"6dcb09b5b57875f334f61aebed695e2e4193db5e"
REPO = b'"repository": {"full_name": "octo/repo"}'


def test_a_well_formed_event_names_its_pull_request(tmp_path):
    path = tmp_path / "event.json"
    path.write_bytes(PULL % (7, 7, SHA, REPO))
    context = read_event(event_env(path))
    assert context.pr_number == 7
    assert context.note is None


def test_duplicate_keys_in_the_event_file_name_no_pull_request(tmp_path):
    path = tmp_path / "event.json"
    path.write_bytes((PULL % (7, 7, SHA, REPO))[:-1] + b', "number": 8}')
    context = read_event(event_env(path))
    assert context.pr_number is None
    assert context.note is not None
    assert "is not valid JSON: duplicate key 'number' in one object at line 1 column" in (
        context.note
    )
    assert "\n" not in context.note


def test_a_hostile_event_file_is_a_note_not_a_crash(tmp_path):
    path = tmp_path / "event.json"
    for content, says in [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"number": ' + b"9" * 5000 + b"}", "a number with 5,000 digits"),
        (b'{"number": NaN}', "NaN is not a JSON number"),
        (b'{"title": "\xff"}', "not UTF-8 at line 1 column 12"),
    ]:
        path.write_bytes(content)
        context = read_event(event_env(path))
        assert context.pr_number is None
        assert context.note is not None
        assert says in context.note, context.note
