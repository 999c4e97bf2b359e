"""Ed25519 signatures of backup manifests, with raw key files.

Key files: a PEM PKCS#8 private key, a PEM SubjectPublicKeyInfo public key (what
``openssl genpkey -algorithm ed25519`` and ``openssl pkey -pubout`` write). A
manifest is signed over its canonical JSON without its ``signature`` entry, so the
signature covers the sha256 of every file of the package.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "ed25519"


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


def canonical(manifest: dict[str, Any]) -> bytes:
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
        "value": base64.b64encode(key.sign(canonical(manifest))).decode(),
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
        key.verify(value, canonical(manifest))
    except InvalidSignature:
        raise ValueError(f"its signature by key {signature['key_id'][:16]} does not match its content") from None
    return key_id(key)
