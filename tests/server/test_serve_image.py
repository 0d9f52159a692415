"""The service's image keeps durable gates on a volume: the root filesystem stays read-only
(`docker run --read-only`), the database is a SQLite file under /data, a directory the
service's uid owns and the image declares a volume."""

from __future__ import annotations

import shlex

from gate.store.settings import parse_database_url
from tests.paths import REPO
from tests.runner_files import dockerfile_instructions

SERVE_DOCKERFILE = REPO / "docker" / "serve.Dockerfile"


def _final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions(SERVE_DOCKERFILE)
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_the_database_lives_on_the_data_volume_owned_by_the_service_user():
    stage = _final_stage()
    env = " ".join(rest for keyword, rest in stage if keyword == "ENV")
    settings = dict(part.split("=", 1) for part in shlex.split(env.replace("\\", " ")))
    url = parse_database_url(settings["EVAL_GATE_DATABASE_URL"])
    assert (url.backend, url.path) == ("sqlite", "/data/eval-gate.db")
    volumes = [rest for keyword, rest in stage if keyword == "VOLUME"]
    assert volumes == ['["/data"]']
    runs = " ".join(rest for keyword, rest in stage if keyword == "RUN")
    assert "chown 10001:10001 /data" in runs
    users = [rest for keyword, rest in stage if keyword == "USER"]
    assert users == ["10001:10001"]
    # made (and owned) before the switch to the service's user and the volume's declaration
    keywords = [keyword for keyword, _ in stage]
    assert keywords.index("VOLUME") < keywords.index("USER")
