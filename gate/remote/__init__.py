"""The durable gates' service as its clients (`eval-gate submit` and `status`, the Action with
`service-url`) speak it: the pure request and answer functions (`gate.remote.api`) and the
client over `gate.http` (`gate.remote.client`). It knows no face.

Only constants here, so the faces' declarations read them without loading the client."""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_IDEMPOTENCY_KEY", "MIN_INTERVAL", "TOKEN_VARIABLE"]

# The variable holding the command line's bearer token for the service (a name, not a secret).
TOKEN_VARIABLE: Final = "EVAL_GATE_TOKEN"  # noqa: S105
MIN_INTERVAL: Final = 1.0  # seconds between two looks at a waiting gate, at least
MAX_IDEMPOTENCY_KEY: Final = 255  # the service's bound on an Idempotency-Key
