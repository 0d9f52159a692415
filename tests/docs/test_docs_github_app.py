"""The GitHub App's manifest (docs/service/github-app-manifest.json) asks for exactly what the
service uses and points its webhook at the route that takes it; the setup page is in the site."""

from __future__ import annotations

import json

from gate.server.webhook import WEBHOOK_PATH
from tests.paths import REPO

MANIFEST = REPO / "docs" / "service" / "github-app-manifest.json"


def test_the_manifest_asks_for_exactly_the_permissions_and_events_the_service_uses():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["default_permissions"] == {
        "checks": "write",
        "pull_requests": "write",
        "statuses": "write",
        "contents": "read",
        "metadata": "read",
    }
    # installation and installation_repositories are sent to every App without asking.
    assert manifest["default_events"] == ["check_run", "check_suite", "pull_request"]
    assert manifest["hook_attributes"]["url"].endswith(WEBHOOK_PATH)
    assert manifest["hook_attributes"]["active"] is True
    assert manifest["public"] is False
    assert manifest["name"] == "eval-gate"


def test_the_setup_page_is_in_the_site_and_names_the_three_settings():
    site = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    assert "GitHub App setup: service/github-app-setup.md" in site
    page = (REPO / "docs" / "service" / "github-app-setup.md").read_text(encoding="utf-8")
    for name in (
        "EVAL_GATE_GITHUB_APP_ID",
        "EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE",
        "EVAL_GATE_GITHUB_WEBHOOK_SECRET",
        "service-url",
        "service-token",
        "github-app-manifest.json",
    ):
        assert name in page
