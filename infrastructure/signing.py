"""Ed25519 keys and signatures (``cryptography``) for ledger checkpoints, kept outside the ledger."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.errors import RestoreError


class SigningError(RestoreError):
    stage = "checkpoint"


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def make_keys(private_file: Path, public_file: Path) -> str:
    """A new key pair: the private key readable by its owner only. Returns the key's fingerprint."""
    for path in (private_file, public_file):
        if path.exists():
            raise SigningError(f"{str(path)!r} exists already; it is not overwritten")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as sink:
        sink.write(private)
    public = key.public_key()
    public_file.write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return fingerprint(public)


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SigningError(f"the key file {str(path)!r} cannot be read: {error.strerror}") from None


def sign(payload: dict[str, Any], private_file: Path) -> dict[str, Any]:
    try:
        key = serialization.load_pem_private_key(_read(private_file), password=None)
    except (ValueError, TypeError) as error:
        raise SigningError(f"{str(private_file)!r} is not a private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{str(private_file)!r} is not an Ed25519 private key")
    signature = key.sign(canonical(payload))
    return {"payload": payload, "signature": base64.b64encode(signature).decode(), "key": fingerprint(key.public_key())}


def verified_payload(signed: dict[str, Any], public_file: Path) -> dict[str, Any]:
    """The payload of a signed document, once its signature checks out against the public key."""
    try:
        key = serialization.load_pem_public_key(_read(public_file))
    except (ValueError, TypeError) as error:
        raise SigningError(f"{str(public_file)!r} is not a public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{str(public_file)!r} is not an Ed25519 public key")
    try:
        payload: dict[str, Any] = signed["payload"]
        key.verify(base64.b64decode(signed["signature"]), canonical(payload))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        raise SigningError(f"the checkpoint's signature does not verify with the key {fingerprint(key)}") from None
    return payload
