"""Write deploy/compose/local/ for compose.yaml: every password, the NATS accounts, the audit key, the env files.

    python deploy/compose/local_secrets.py [sites.json]    # the demo site directory when none is given

Generated once and kept (rerunning keeps every password); the directory is 0700 and git-ignored. NATS gets
the very accounts `make run` gives its own server (devstack/divert_devstack/nats.py), so partners and services
have the same permissions on one host as on a laptop.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from divert_devstack import demo_site
from divert_devstack.nats import NatsServer, feeds_of, persisted_secret, service_user
from divert_devstack.stack import _ed25519_pem

LOCAL = Path(__file__).resolve().parent / "local"
APPS = ("referral", "casemgmt", "consent", "prosecution", "audit", "evaluation", "gateway")


def write(path: Path, text: str, mode: int = 0o600) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def main(argv: list[str]) -> None:
    LOCAL.mkdir(mode=0o700, exist_ok=True)
    sites = json.loads(Path(argv[0]).read_text()) if argv else demo_site.sites()
    write(LOCAL / "sites.json", json.dumps(sites, indent=2), 0o644)
    # Read inside the containers by users other than the host's, so the files are 0644; the directory keeps them
    # private on the host.
    pg = persisted_secret(LOCAL / "postgres-password")
    os.chmod(LOCAL / "postgres-password", 0o644)
    persisted_secret(LOCAL / "audit-signing-key.pem", _ed25519_pem)
    os.chmod(LOCAL / "audit-signing-key.pem", 0o644)
    nats = NatsServer(LOCAL / "nats" / "data", 4222, secrets_dir=LOCAL / "nats", feeds=feeds_of(sites))
    nats._config()  # writes local/nats-server.conf (accounts, users, permissions) and the credentials file
    os.chmod(LOCAL / "nats" / "nats-server.conf", 0o644)
    migrate = {"DIVERT_GATEWAY_URL": "http://gateway:8000"}
    for app in APPS:
        database = f"postgresql+asyncpg://postgres:{pg}@postgres:5432/{app}"
        user = service_user(app)
        env = {
            f"{app.upper()}_DATABASE_URL": database,
            f"{app.upper()}_NATS_URL": f"nats://{user}:{nats._password(user)}@nats:4222",
        }
        write(LOCAL / f"{app}.env", "".join(f"{k}={v}\n" for k, v in env.items()))
        migrate[f"DIVERT_{app.upper()}_DATABASE_URL"] = database
    write(LOCAL / "migrate.env", "".join(f"{k}={v}\n" for k, v in migrate.items()))
    print(f"wrote {LOCAL}; partners' NATS credentials: {LOCAL / 'nats' / 'nats-credentials.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
