"""Ed25519 keys and signatures (``cryptography``): ledger checkpoints and backup manifests.

Key files: a PEM PKCS#8 private key, a PEM SubjectPublicKeyInfo public key (what
``restore-ledger ledger keygen`` and ``openssl genpkey -algorithm ed25519`` write). A key
is named by the sha256 of its raw public key. A manifest is signed over its canonical JSON
without its ``signature`` entry, so the signature covers the sha256 of every file of the
package; a checkpoint is signed over the canonical JSON of its payload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.errors import RestoreError

ALGORITHM = "ed25519"


class SigningError(RestoreError):
    stage = "checkpoint"


class KeyFileError(ValueError):
    """A key file that cannot be used, named."""


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = _load(path, "private", lambda data: serialization.load_pem_private_key(data, password=None))
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"private key {str(path)!r} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = _load(path, "public", serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"public key {str(path)!r} is not an Ed25519 key")
    return key


def _load(path: Path, kind: str, loader: Callable[[bytes], object]) -> object:
    try:
        return loader(path.read_bytes())
    except (OSError, ValueError, TypeError) as error:
        raise KeyFileError(f"{kind} key {str(path)!r} cannot be read ({error})") from None


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """The sha256 of the raw public key, in hex: names the signer in manifests and the ledger."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def fingerprint(public: Ed25519PublicKey) -> str:
    return "sha256:" + key_id(public)


# -- ledger checkpoints -------------------------------------------------------------------


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
    public_file.write_text(public_pem(key.public_key()))
    return fingerprint(key.public_key())


def sign(payload: dict[str, Any], private_file: Path) -> dict[str, Any]:
    try:
        key = load_private_key(private_file)
    except KeyFileError as error:
        raise SigningError(str(error)) from None
    signature = key.sign(canonical(payload))
    return {"payload": payload, "signature": base64.b64encode(signature).decode(), "key": fingerprint(key.public_key())}


def verified_payload(signed: dict[str, Any], public_file: Path) -> dict[str, Any]:
    """The payload of a signed document, once its signature checks out against the public key."""
    try:
        key = load_public_key(public_file)
    except KeyFileError as error:
        raise SigningError(str(error)) from None
    try:
        payload: dict[str, Any] = signed["payload"]
        key.verify(base64.b64decode(signed["signature"]), canonical(payload))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        raise SigningError(f"the checkpoint's signature does not verify with the key {fingerprint(key)}") from None
    return payload


# -- backup manifests ---------------------------------------------------------------------


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The bytes a manifest's signature covers: its canonical JSON without ``signature``."""
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_manifest(manifest: dict[str, Any], key: Ed25519PrivateKey, signer: str = "") -> dict[str, Any]:
    """The manifest with its ``signature`` entry."""
    public = key.public_key()
    signature = {
        "algorithm": ALGORITHM,
        "key_id": key_id(public),
        "public_key": public_pem(public),
        "signer": signer,
        "value": base64.b64encode(key.sign(manifest_bytes(manifest))).decode(),
    }
    return {**manifest, "signature": signature}


def verify_manifest(manifest: dict[str, Any]) -> str:
    """Check the manifest's signature against the public key it carries; its key id, or
    ``ValueError`` naming the problem."""
    signature = manifest["signature"]
    try:
        key = serialization.load_pem_public_key(str(signature["public_key"]).encode())
        value = base64.b64decode(str(signature["value"]), validate=True)
    except (ValueError, TypeError) as error:
        raise ValueError(f"its signature cannot be read ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("its signature's public key is not an Ed25519 key")
    if key_id(key) != signature["key_id"]:
        raise ValueError("its signature's key_id is not the sha256 of its public key")
    try:
        key.verify(value, manifest_bytes(manifest))
    except InvalidSignature:
        raise ValueError(f"its signature by key {signature['key_id'][:16]} does not match its content") from None
    return key_id(key)
