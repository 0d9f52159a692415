# eval-gate as a Docker container action (action.yml: `runs.using: docker`, `image: Dockerfile`).
#
# The runner builds this image on every job and runs it as root with the workspace mounted at
# /github/workspace and the inputs as INPUT_* variables, so: no USER, no reliance on WORKDIR,
# and an exec-form ENTRYPOINT with absolute paths (a shell would drop hyphenated INPUT_ names).
#
# Stage 1 builds the eval-gate wheel and installs it with the pinned runtime dependencies under
# /install; stage 2 is the same slim Python with only that copied into /usr/local, checked there.
#
# The base image is pinned by tag and by the digest of its multi-architecture index (amd64 and
# arm64): a tag can be pushed again, a digest cannot. Dependabot (.github/dependabot.yml, docker)
# moves both together; docker/serve.Dockerfile uses the same line.

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

COPY docker/requirements.txt docker/build-requirements.txt /src/docker/
RUN python -m pip install --no-cache-dir -r /src/docker/build-requirements.txt \
    && python -m pip install --no-cache-dir --prefix=/install --no-deps \
        -r /src/docker/requirements.txt

COPY pyproject.toml README.md /src/
COPY gate /src/gate
COPY templates /src/templates
COPY schema /src/schema
# --no-deps everywhere: every dependency comes from the pinned list above; the final stage
# proves the list is complete.
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels /src \
    && python -m pip install --no-cache-dir --prefix=/install --no-deps /wheels/eval_gate-*.whl

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

LABEL org.opencontainers.image.title="eval-gate" \
      org.opencontainers.image.description="Gate a pull request on Roboflow model evaluation metrics" \
      org.opencontainers.image.licenses="MIT"

# For anything else run in the image; the entrypoint ignores PYTHON* variables and says -B -u.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY --from=builder /install /usr/local

# Proof on the final interpreter and files, failing the build otherwise: eval-gate is installed
# where this Python looks (its metadata and the entrypoint's module), and pip check finds every
# requirement of every distribution here met (the builder's build-only packages are not here).
# -I: only the image's own site-packages; -B: no .pyc files left in this layer.
RUN /usr/local/bin/python -I -B -c \
        "import importlib.metadata as m, gate.action; m.distribution('eval-gate')" \
    && /usr/local/bin/python -I -B -m pip --disable-pip-version-check --no-cache-dir check

# -I (isolated): the working directory (the checked-out repository, /github/workspace) is not
# on sys.path and PYTHON* variables (PYTHONPATH, PYTHONSTARTUP... from the workflow's env) are
# ignored, so nothing from the repository is ever imported; -B no .pyc; -u unbuffered output.
ENTRYPOINT ["/usr/local/bin/python", "-I", "-B", "-u", "-m", "gate.action"]
