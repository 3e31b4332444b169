"""The audit service's checkpoint key: Ed25519, read from a file the database never sees; public half as a JWK."""

from __future__ import annotations

import base64
import hashlib
import logging
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.domain.canonical import jcs

log = logging.getLogger("divert.audit")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CheckpointKey:
    """Signs sealed heads; `key_id` is the RFC 7638 thumbprint of the public key, so anyone can recompute it."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._x = _b64url(raw)
        self.key_id = _b64url(hashlib.sha256(jcs({"crv": "Ed25519", "kty": "OKP", "x": self._x})).digest())

    def public_jwk(self) -> dict[str, Any]:
        return {"kty": "OKP", "crv": "Ed25519", "x": self._x, "kid": self.key_id, "alg": "EdDSA", "use": "sig"}

    def sign(self, document: bytes) -> str:
        return _b64url(self._private.sign(document))

    def verifies(self, document: bytes, signature: str, key_id: str) -> bool:
        if key_id != self.key_id:
            return False
        try:
            self.public_key.verify(_unb64url(signature), document)
        except (InvalidSignature, ValueError):
            return False
        return True


def load(path: Path | None) -> CheckpointKey:
    """The key in `path` (PEM, PKCS#8); with no path (development only), a key for this process alone."""
    if path is None:
        # Checkpoints signed with a key that dies with this process no longer verify after a restart.
        log.warning("audit_signing_key_ephemeral", extra={"setting": "AUDIT_SIGNING_KEY_FILE"})
        return CheckpointKey(Ed25519PrivateKey.generate())
    private_key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ValueError("AUDIT_SIGNING_KEY_FILE must hold an Ed25519 private key")
    return CheckpointKey(private_key)
