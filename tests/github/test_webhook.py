"""Webhook deliveries as values (gate.github.webhook): the signature over the raw bytes, and
what each event the service handles says, from payloads shaped as GitHub sends them."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from gate.github.webhook import (
    MAX_REPOSITORIES,
    CheckRunRerequested,
    CheckSuiteRerequested,
    Ignored,
    InstallationGone,
    Malformed,
    PullClosed,
    PullSynchronized,
    parse_event,
    sign,
    valid_delivery_id,
    verify_signature,
)
from gate.worker.hooks import relevant
from tests.webhook_payloads import (
    APP_ID,
    check_run_rerequested,
    check_suite_rerequested,
    installation_deleted,
    pull_request,
    repositories_removed,
)

SECRET = "whsec-unit-0123456789abcdef"
REPO = "octo-org/octo-repo"
A, B = "a" * 40, "b" * 40
GATE = "gt_01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_the_signature_is_githubs_hmac_sha256_of_the_raw_body():
    body = b'{"zen":"hi"}'
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body) == expected
    assert verify_signature(SECRET, body, expected)
    assert verify_signature(SECRET.encode(), body, f"  {expected} ")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "sha256=" + "Z" * 64,
        sign("another-secret-0123456789", b'{"zen":"hi"}'),
        sign(SECRET, b'{"zen": "hi"}'),  # the same JSON, other bytes
        sign(SECRET, b'{"zen":"hi"}').upper(),
    ],
)
def test_anything_but_the_signature_of_these_bytes_with_this_secret_is_refused(header):
    assert not verify_signature(SECRET, b'{"zen":"hi"}', header)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("72d3162e-cc78-11e3-81ab-4c9367dc0958", True),
        ("", False),
        ("a b", False),
        ("x" * 65, False),
    ],
)
def test_a_delivery_id_is_a_guid(value, ok):
    assert valid_delivery_id(value) is ok


def test_check_run_and_check_suite_rerequested():
    run = parse_event(
        "check_run", check_run_rerequested(REPO, check_run_id=9, external_id=GATE, head_sha=A)
    )
    assert run == CheckRunRerequested(REPO, 9, GATE, APP_ID, A)
    suite = parse_event("check_suite", check_suite_rerequested(REPO, head_sha=A.upper()))
    assert suite == CheckSuiteRerequested(REPO, A, APP_ID)


def test_a_check_run_of_another_app_or_of_no_gate_is_not_relevant():
    ours = parse_event(
        "check_run", check_run_rerequested(REPO, check_run_id=9, external_id=GATE, head_sha=A)
    )
    assert relevant(ours, APP_ID) == ours
    assert relevant(ours, None) == ours  # a token, not an App: the external id decides
    assert isinstance(relevant(ours, APP_ID + 1), Ignored)
    other = parse_event(
        "check_run", check_run_rerequested(REPO, check_run_id=9, external_id="ci-7", head_sha=A)
    )
    assert isinstance(relevant(other, APP_ID), Ignored)


def test_pull_request_synchronize_and_closed_from_githubs_example():
    pushed = parse_event(
        "pull_request",
        pull_request("synchronize", REPO, 7, before=A, head=B, updated_at="2026-12-07T12:00:00Z"),
    )
    assert pushed == PullSynchronized(REPO, 7, A, B, 1_796_644_800_000)
    closed = parse_event("pull_request", pull_request("closed", REPO, 7, head=B))
    assert closed == PullClosed(REPO, 7)


def test_installation_deleted_and_repositories_removed():
    deleted = parse_event("installation", installation_deleted(5, REPO, "octo-org/other"))
    assert deleted == InstallationGone(5, (REPO, "octo-org/other"), whole=True)
    removed = parse_event("installation_repositories", repositories_removed(5, REPO))
    assert removed == InstallationGone(5, (REPO,), whole=False)


def test_an_installation_event_reads_a_bounded_number_of_repositories():
    many = [f"octo-org/r{i}" for i in range(MAX_REPOSITORIES + 5)]
    event = parse_event("installation_repositories", repositories_removed(5, *many))
    assert isinstance(event, InstallationGone)
    assert len(event.repositories) == MAX_REPOSITORIES


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("ping", {"zen": "hi"}),
        ("push", {"ref": "refs/heads/main"}),
        ("pull_request", {"action": "opened"}),
        ("check_run", {"action": "completed"}),
        ("installation", {"action": "created"}),
        ("pull_request", ["not", "an", "object"]),
    ],
)
def test_other_events_and_actions_are_ignored(event, payload):
    assert isinstance(parse_event(event, payload), Ignored)


def test_a_payload_without_what_its_event_carries_is_malformed_quoting_no_value():
    broken = pull_request("synchronize", REPO, 7, before=A, head=B)
    broken["pull_request"]["head"]["sha"] = "not-a-sha-SECRETISH"
    found = parse_event("pull_request", broken)
    assert found == Malformed("the pull_request synchronize payload has no usable "
                              "pull_request.head.sha")  # fmt: skip
    assert "SECRETISH" not in found.reason
    no_installation = repositories_removed(5, REPO)
    del no_installation["installation"]
    assert isinstance(parse_event("installation_repositories", no_installation), Malformed)
    bad_time = pull_request("synchronize", REPO, 7, before=A, head=B, updated_at="yesterday")
    assert isinstance(parse_event("pull_request", bad_time), Malformed)
