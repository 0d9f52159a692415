# eval-gate as an HTTP service: `eval-gate serve`, as a non-root user.
#
#   docker build -f docker/serve.Dockerfile -t eval-gate-serve .
#   docker run --read-only -v eval-gate-data:/data -p 8080:8080 \
#       -e EVAL_GATE_TOKENS=... -e ROBOFLOW_API_KEY=... eval-gate-serve
#
# Durable gates live in a SQLite file on the /data volume (EVAL_GATE_DATABASE_URL below; set
# it to a postgresql:// URL for replicas): the root filesystem stays read-only. Without a
# volume mounted, Docker gives /data an anonymous one (owned by the service's uid, as the image
# made it), which goes with the container.
#
# Same two stages as the Action's image (../Dockerfile): the wheel and the pinned runtime
# dependencies are built under /install, and only they reach the final image; the same base,
# pinned by tag and digest (Dependabot keeps the digest current). The service also gets the
# `postgres` extra's driver (docker/postgres-requirements.txt) for replicated durable gates on
# PostgreSQL; SQLite, the default, needs nothing more.

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

COPY docker/requirements.txt docker/build-requirements.txt docker/postgres-requirements.txt \
    /src/docker/
RUN python -m pip install --no-cache-dir -r /src/docker/build-requirements.txt \
    && python -m pip install --no-cache-dir --prefix=/install --no-deps \
        -r /src/docker/requirements.txt -r /src/docker/postgres-requirements.txt

COPY pyproject.toml README.md /src/
COPY gate /src/gate
COPY templates /src/templates
COPY schema /src/schema
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels /src \
    && python -m pip install --no-cache-dir --prefix=/install --no-deps /wheels/eval_gate-*.whl

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

LABEL org.opencontainers.image.title="eval-gate-serve" \
      org.opencontainers.image.description="The eval-gate quality gate as an HTTP service" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EVAL_GATE_HOST=0.0.0.0 \
    EVAL_GATE_PORT=8080 \
    EVAL_GATE_DATABASE_URL=sqlite:////data/eval-gate.db

COPY --from=builder /install /usr/local

# As in ../Dockerfile: the runtime set is complete on the final interpreter, or no image (pip
# check does not look at extras: importing the store's engine and psycopg proves the driver).
RUN /usr/local/bin/python -I -B -c \
        "import importlib.metadata as m, gate.server.app, gate.store.store, psycopg; m.distribution('eval-gate')" \
    && /usr/local/bin/python -I -B -m pip --disable-pip-version-check --no-cache-dir check

# The database's directory, writable by the service's uid only (SQLite writes its -wal and
# -shm files beside the database).
RUN mkdir -m 0700 /data && chown 10001:10001 /data
VOLUME ["/data"]

# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 10001:10001
EXPOSE 8080

# `python -I -m gate` rather than the eval-gate script: isolated mode, so neither the working
# directory nor PYTHONPATH (or any PYTHON* variable) of the deployment can put code before
# eval-gate's own; -B: no .pyc writes (the root filesystem may be read-only); -u: logs at once.
ENTRYPOINT ["/usr/local/bin/python", "-I", "-B", "-u", "-m", "gate", "serve"]
