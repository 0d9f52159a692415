"""The GitHub App's credentials: its id and its RSA private key, read once at start.

`read_app_key(path)` reads the PEM file GitHub let the App's owner download, bounded in size,
and loads it with `cryptography`; anything that is not an unencrypted RSA private key of at
least 2,048 bits is refused with one line (`AppKeyError`) that names the file and says what it
holds instead and what to do, never quoting a byte of it. The loaded key lives in an
`AppAuth` whose `repr` shows the App's id and nothing of the key; the PEM text is not kept.

`cryptography` is imported here and only here (and by PyJWT in `gate.github.app_jwt`), when a
service is configured as an App: the command line's `check` never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "MAX_KEY_FILE_BYTES",
    "MIN_KEY_BITS",
    "AppAuth",
    "AppKeyError",
    "load_app_key",
    "read_app_key",
]

MAX_KEY_FILE_BYTES = 64 * 1024  # GitHub's 2,048-bit PEM is ~1.7 KB; 64 KiB is no key
MIN_KEY_BITS = 2048  # what GitHub generates; shorter would be a weaker key than GitHub's
_DOWNLOAD = "the App's settings page on GitHub, Private keys, Generate a private key"


class AppKeyError(ValueError):
    """The App's private key file cannot be used; `str()` is one line without key material."""


@dataclass(frozen=True, slots=True)
class AppAuth:
    """What the service authenticates as the App with: its id and its private key."""

    app_id: int
    key: RSAPrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.app_id, bool) or not isinstance(self.app_id, int) or self.app_id < 1:
            raise ValueError("a GitHub App's id is a positive integer")


def _pem_kind(data: bytes) -> str | None:
    """What a PEM file's first block says it holds (`RSA PRIVATE KEY`), or None."""
    start = data.find(b"-----BEGIN ")
    if start < 0:
        return None
    end = data.find(b"-----", start + 11)
    if end < 0 or end - start > 64:
        return None
    label = data[start + 11 : end]
    return label.decode("ascii") if label.isascii() and label.replace(b" ", b"").isalpha() else None


def _key_kind(key: object) -> str:
    """A private key's kind in words (its class's name, without `PrivateKey`)."""
    name = type(key).__name__.strip("_").removesuffix("PrivateKey")
    return {"EC": "elliptic curve", "EllipticCurve": "elliptic curve"}.get(name, name or "unknown")


def load_app_key(data: bytes, *, where: str) -> RSAPrivateKey:
    """The RSA private key in PEM `data` (from `where`, a file name for messages)."""
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415 - only for an App
    from cryptography.hazmat.primitives.asymmetric.rsa import (  # noqa: PLC0415
        RSAPrivateKey,
    )
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        load_pem_private_key,
    )

    kind = _pem_kind(data)
    if kind is None:
        raise AppKeyError(
            f"{where} is not a PEM private key (no -----BEGIN ... KEY----- line); use the .pem "
            f"file GitHub gave when the key was generated ({_DOWNLOAD})"
        )
    if "PRIVATE KEY" not in kind:
        raise AppKeyError(
            f"{where} holds a {kind}, not a private key; use the App's private key ({_DOWNLOAD})"
        )
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        raise AppKeyError(
            f"{where} is encrypted with a passphrase; GitHub's download is not: use it as it "
            "came, kept in a secret store instead"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise AppKeyError(
            f"{where} is not a usable PEM private key (damaged or cut short); download a new "
            f"one ({_DOWNLOAD})"
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise AppKeyError(
            f"{where} holds a private key that is not RSA ({_key_kind(key)}); a GitHub App's "
            f"key is RSA: use the App's key ({_DOWNLOAD})"
        )
    if key.key_size < MIN_KEY_BITS:
        raise AppKeyError(
            f"{where} holds a {key.key_size}-bit RSA key, under {MIN_KEY_BITS}: not a key "
            f"GitHub made; use the App's key ({_DOWNLOAD})"
        )
    return key


def read_app_key(path: Path) -> RSAPrivateKey:
    """Read and load the App's private key file; AppKeyError (one line) when it cannot be."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise AppKeyError(
            f"private key file {path} not found; point it at the App's .pem ({_DOWNLOAD})"
        ) from None
    except IsADirectoryError:
        raise AppKeyError(f"{path} is a folder, not the App's private key file") from None
    except OSError as exc:
        raise AppKeyError(
            f"cannot read private key file {path} ({type(exc).__name__}); check its permissions"
        ) from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise AppKeyError(
            f"{path} is over {MAX_KEY_FILE_BYTES // 1024} KiB, too large to be a private key"
        )
    return load_app_key(data, where=str(path))
