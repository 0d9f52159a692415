"""Point the released action.yml at the published image: the release workflow's one rewrite.

    python tools/release_action.py --tag v1.2.3 --image ghcr.io/acme/eval-gate \
        --digest sha256:<the pushed image's digest>

On `main`, action.yml says `image: Dockerfile`, so a branch tests its own code. The release
commit (what the tag `v1.2.3` and the major tag `v1` point at) says
`image: docker://ghcr.io/acme/eval-gate@sha256:… # ghcr.io/acme/eval-gate:1.2.3` instead: the
image by the digest the release pushed (its multi-architecture index), the version in the
comment. A tag can be pushed again, a digest cannot, so a user who pins the action by commit
SHA runs exactly the image that commit names, and never builds it on a job.

It refuses, with one line on stderr and exit 2, and changes nothing, unless everything is as
expected: the tag is `v` + X.Y.Z and the same version as pyproject.toml's; the image is a
lower-case ghcr.io name without a tag or digest; the digest is `sha256:` and 64 lower-case hex
digits; action.yml has `runs.using: docker` and exactly one line `  image: Dockerfile` under
`runs:`. After the rewrite the file is parsed again and must differ from the original in
`runs.image` only. The composite action (composite/action.yml) needs no rewrite: it installs
the source it is checked out with.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
TAG = re.compile(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
# ghcr.io/OWNER/NAME[/MORE]: lower case (GHCR refuses upper case), no tag, no digest.
IMAGE = re.compile(r"ghcr\.io/[a-z0-9](?:[a-z0-9-]{0,38})(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+")
# What docker/build-push-action outputs as `digest`: the pushed manifest's (index's) SHA-256.
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
DOCKERFILE_LINE = "  image: Dockerfile"
EXIT_REFUSED = 2


class Refused(Exception):
    """What is unexpected, in one line; nothing was written."""


def release_version(tag: str, pyproject: Path) -> str:
    """X.Y.Z from the tag `vX.Y.Z`, which must be pyproject.toml's [project] version."""
    if TAG.fullmatch(tag) is None:
        raise Refused(f"tag {tag!r} is not a release tag: expected v<major>.<minor>.<patch>")
    version = tag[1:]
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    if declared != version:
        raise Refused(
            f"tag {tag} does not match {pyproject.name}'s version {declared!r}: "
            f"bump [project].version to {version!r} first"
        )
    return version


def image_reference(image: str, digest: str) -> str:
    """`docker://IMAGE@DIGEST`, what action.yml's `runs.image` says after the release."""
    return f"docker://{image}@{digest}"


def rewrite(text: str, image: str, version: str, digest: str) -> str:
    """action.yml's text with `image: Dockerfile` replaced by `docker://IMAGE@DIGEST`, the
    version in a comment (`# IMAGE:VERSION`, the tag the digest was pushed as)."""
    if IMAGE.fullmatch(image) is None:
        raise Refused(
            f"image {image!r} is not a lower-case ghcr.io/OWNER/NAME without a tag or digest"
        )
    if DIGEST.fullmatch(digest) is None:
        raise Refused(
            f"digest {digest!r} is not sha256: and 64 lower-case hex digits (the pushed "
            "image's digest, docker/build-push-action's output `digest`)"
        )
    before = yaml.safe_load(text)
    runs = before.get("runs") if isinstance(before, dict) else None
    if runs != {"using": "docker", "image": "Dockerfile"}:
        raise Refused(
            f"action.yml's runs is {runs!r}, expected using: docker and image: Dockerfile "
            "(already released? rewrite only a commit from main)"
        )
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if line.rstrip() == DOCKERFILE_LINE]
    if len(hits) != 1:
        raise Refused(f"action.yml has {len(hits)} lines {DOCKERFILE_LINE.strip()!r}, expected 1")
    reference = image_reference(image, digest)
    lines[hits[0]] = f"  image: {reference} # {image}:{version}"
    after_text = "\n".join(lines)
    after: Any = yaml.safe_load(after_text)
    expected = {**before, "runs": {"using": "docker", "image": reference}}
    if after != expected:
        raise Refused("action.yml changed beyond runs.image: the `image:` line is not under runs")
    return after_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tag", required=True, help="the release tag, vX.Y.Z")
    parser.add_argument("--image", required=True, help="ghcr.io/OWNER/NAME, lower case")
    parser.add_argument(
        "--digest", required=True, help="the pushed image's digest, sha256:<64 hex digits>"
    )
    parser.add_argument("--action", type=Path, default=REPO / "action.yml")
    parser.add_argument("--pyproject", type=Path, default=REPO / "pyproject.toml")
    args = parser.parse_args(argv)
    try:
        version = release_version(args.tag, args.pyproject)
        text = rewrite(args.action.read_text(encoding="utf-8"), args.image, version, args.digest)
    except (Refused, OSError, yaml.YAMLError, tomllib.TOMLDecodeError, KeyError) as error:
        sys.stderr.write(f"release_action: refused: {error}\n")
        return EXIT_REFUSED
    args.action.write_text(text, encoding="utf-8")
    reference = image_reference(args.image, args.digest)
    sys.stdout.write(f"{args.action.name}: image: {reference} ({version})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
