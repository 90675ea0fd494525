"""RDS IAM database authentication: a short-lived signed token in place of a password.

With ``DB_IAM_AUTH=1`` the app holds no database password. For each new connection it signs an
auth token for ``DB_USER`` at ``DB_HOST:DB_PORT`` with the task's or the function's own AWS
credentials (botocore's ``generate_db_auth_token``: a SigV4 presigned ``connect`` request for
the service ``rds-db``). The signature is computed here: no call to any AWS endpoint, so no NAT
and no interface endpoint is needed. The credentials themselves come from the usual chain:
environment variables on Lambda, the task's credentials endpoint (a link-local address inside
the task) on Fargate.

A token opens connections for 15 minutes; an open connection is not cut off when it expires.
Every new connection gets a token signed at that moment, so a pool that lives for hours never
reuses an expired one.

A token is a credential: it is never logged. botocore's own debug log prints the canonical
request and the signature it computes, so its loggers are held at WARNING here whatever the
app's log level.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

# generate_db_auth_token's fixed lifetime.
TOKEN_LIFETIME_SECONDS = 900

_lock = threading.Lock()
_clients: dict[str, Any] = {}


class TokenError(psycopg.OperationalError):
    """No token could be signed (no AWS credentials, for instance); the message holds no secret.

    An OperationalError, so a request that needed a connection gets the same 503 as when the
    database is away, and the boot kit reports it like a failed login.
    """


def auth_token(host: str, port: int, user: str, region: str) -> str:
    """A token that logs ``user`` in to ``host:port`` for the next 15 minutes."""
    client = _client(region)
    try:
        token: str = client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
    except Exception as exc:  # botocore's NoCredentialsError, a refused credential refresh...
        raise TokenError(f"could not sign an RDS IAM auth token for {user}: {type(exc).__name__}: {exc}") from None
    return token


def _client(region: str) -> Any:
    # One client per process: building it loads botocore's endpoint data (about 0.1 s); signing
    # with it takes under a millisecond. Credentials that expire (the task's) are refreshed by it.
    with _lock:
        client = _clients.get(region)
        if client is None:
            import botocore.session

            for name in ("botocore", "urllib3"):
                logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
            client = botocore.session.get_session().create_client("rds", region_name=region)
            _clients[region] = client
        return client
