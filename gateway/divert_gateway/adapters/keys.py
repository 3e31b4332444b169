"""The token signing key: generated once, kept in a file only the gateway reads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from uuid import uuid4

from joserfc.jwk import KeySet, RSAKey


def load_or_create(path: Path) -> RSAKey:
    if path.exists():
        return RSAKey.import_key(json.loads(path.read_text()))
    key = RSAKey.generate_key(2048, parameters={"kid": uuid4().hex[:16], "use": "sig", "alg": "RS256"})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(key.as_dict(private=True), out)
    return key


def public_jwks(key: RSAKey) -> dict:  # type: ignore[type-arg]
    return KeySet([key]).as_dict(private=False)
