"""The GitHub App's private key file: read once, an unencrypted RSA key of 2,048+ bits or one
line saying what the file holds instead, never a byte of it."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from gate.github.app_key import (
    MAX_KEY_FILE_BYTES,
    AppAuth,
    AppKeyError,
    load_app_key,
    read_app_key,
)
from tests.github_app_standin import pem_of

FRAGMENT = 8


def pieces(secret: str) -> set[str]:
    """Every run of FRAGMENT characters of `secret`."""
    return {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}


def shows_a_piece(text: str, secret: str) -> bool:
    found = pieces(secret)
    return any(text[i : i + FRAGMENT] in found for i in range(len(text) - FRAGMENT + 1))


def key_body(pem: bytes) -> str:
    """The base64 lines of a PEM file (what a leak would show)."""
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


def test_the_key_github_downloads_is_loaded(tmp_path, app_private_key):
    path = tmp_path / "app.pem"
    path.write_bytes(pem_of(app_private_key))  # BEGIN RSA PRIVATE KEY, as GitHub gives it
    key = read_app_key(path)
    assert key.private_numbers() == app_private_key.private_numbers()


def test_a_pkcs8_key_is_loaded_too(tmp_path, app_private_key):
    path = tmp_path / "app.pem"
    path.write_bytes(pem_of(app_private_key, traditional=False))  # BEGIN PRIVATE KEY
    assert read_app_key(path).key_size == 2048


def self_signed_certificate(key) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eval-gate test")])
    import datetime as dt  # noqa: PLC0415

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def unusable_files(key) -> dict[str, tuple[bytes, str]]:
    """name -> (file content, what the one line says)."""
    pem = pem_of(key)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"a passphrase"),
    )
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return {
        "not pem": (
            b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC eval@gate\n",
            "is not a PEM private key",
        ),
        "public key": (public, "holds a PUBLIC KEY, not a private key"),
        "certificate": (self_signed_certificate(key), "holds a CERTIFICATE, not a private key"),
        "cut short": (pem[: len(pem) // 2], "is not a usable PEM private key (damaged or cut"),
        "damaged": (
            pem[:200] + b"*!" + pem[202:],
            "is not a usable PEM private key (damaged or cut",
        ),
        "encrypted": (encrypted, "is encrypted with a passphrase"),
        "ec": (
            pem_of(ec.generate_private_key(ec.SECP256R1()), traditional=False),
            "holds a private key that is not RSA (elliptic curve)",
        ),
        "ed25519": (
            pem_of(ed25519.Ed25519PrivateKey.generate(), traditional=False),
            "holds a private key that is not RSA (Ed25519)",
        ),
        "1024 bits": (pem_of(small), "holds a 1024-bit RSA key, under 2048"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "not pem",
        "public key",
        "certificate",
        "cut short",
        "damaged",
        "encrypted",
        "ec",
        "ed25519",
        "1024 bits",
    ],
)
def test_a_file_that_is_not_the_app_s_key_is_one_line_naming_it_and_quoting_nothing(
    tmp_path, app_private_key, name
):
    content, says = unusable_files(app_private_key)[name]
    path = tmp_path / "app.pem"
    path.write_bytes(content)
    with pytest.raises(AppKeyError) as caught:
        read_app_key(path)
    message = str(caught.value)
    assert says in message
    assert message.startswith(str(path)), message
    assert "\n" not in message
    assert "Private keys" in message or "passphrase" in message or "a private key" in message
    if b"-----BEGIN" in content:
        assert not shows_a_piece(message, key_body(content))
    assert not shows_a_piece(message, key_body(pem_of(app_private_key)))


def test_a_missing_file_a_folder_and_a_huge_file_are_one_line_each(tmp_path):
    with pytest.raises(AppKeyError, match=r"^private key file .*missing\.pem not found; point"):
        read_app_key(tmp_path / "missing.pem")
    with pytest.raises(AppKeyError, match="is a folder, not the App's private key file"):
        read_app_key(tmp_path)
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"-----BEGIN RSA PRIVATE KEY-----\n" + b"A" * MAX_KEY_FILE_BYTES)
    with pytest.raises(AppKeyError, match="over 64 KiB, too large to be a private key"):
        read_app_key(huge)


def test_a_huge_file_is_refused_after_reading_only_the_bound(tmp_path, monkeypatch):
    """Bounded cost: a 10 MB file is not read whole to be refused."""
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"A" * (10 * 1024 * 1024))
    read_sizes: list[int] = []
    real_open = type(huge).open

    def spying_open(self, *args, **kwargs):
        handle = real_open(self, *args, **kwargs)
        real_read = handle.read

        class Spy:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def read(self, size=-1):
                read_sizes.append(size)
                return real_read(size)

        return Spy()

    monkeypatch.setattr(type(huge), "open", spying_open)
    with pytest.raises(AppKeyError):
        read_app_key(huge)
    assert read_sizes == [MAX_KEY_FILE_BYTES + 1]


def test_the_app_s_credentials_show_the_id_and_nothing_of_the_key(app_private_key):
    auth = AppAuth(4242, app_private_key)
    assert repr(auth) == "AppAuth(app_id=4242)"
    assert not shows_a_piece(repr(auth) + str(auth), key_body(pem_of(app_private_key)))
    with pytest.raises(ValueError, match="positive integer"):
        AppAuth(0, app_private_key)


def test_load_app_key_names_where_the_key_came_from(app_private_key):
    with pytest.raises(AppKeyError, match=r"^EVAL_GATE_X is not a PEM private key"):
        load_app_key(b"nothing", where="EVAL_GATE_X")
