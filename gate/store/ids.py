"""Gate ids: `gt_` and 26 Crockford base32 characters, time-sortable (ULID-like: 48 bits of
milliseconds, then 80 random bits). Opaque to clients; sortable so that ids made in one
millisecond order after those of the one before."""

from __future__ import annotations

import re
import secrets

__all__ = ["GATE_ID", "new_gate_id"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GATE_ID = re.compile(r"gt_[0-7][0-9A-HJKMNP-TV-Z]{25}")
"""What a gate id looks like (the first character is 0-7: 130 bits hold 128)."""


def new_gate_id(now_ms: int) -> str:
    """A new gate id for a gate created at `now_ms` (milliseconds since the epoch)."""
    if not 0 <= now_ms < 1 << 48:
        raise ValueError(f"time out of range for a gate id: {now_ms}")
    value = (now_ms << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "gt_" + "".join(reversed(chars))
