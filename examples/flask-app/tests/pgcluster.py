"""Throwaway PostgreSQL clusters for the tests: initdb in a temp dir, start on a free port.

initdb refuses to run as root, so as root every server command runs as the ``postgres`` system
user (the Debian packages create it) in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "postgres"


def find_pg_bin() -> Path:
    """PG_BIN, or the newest /usr/lib/postgresql/<version>/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        raise RuntimeError("PostgreSQL server not found: install the Debian package postgresql or set PG_BIN")
    return Path(candidates[-1]).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PgServer:
    """Where a running server answers, and its superuser's credentials."""

    host: str
    port: int
    user: str
    password: str

    def connect(self, dbname: str = "postgres", **kwargs: object) -> psycopg.Connection:
        """A superuser connection over TCP, autocommit by default."""
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname, **kwargs
        )

    def db_env(self, dbname: str) -> dict[str, str]:
        """The app's environment contract for a database on this server."""
        return {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": dbname,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
            "DB_SSLMODE": "disable",
        }


class PgCluster:
    """A cluster of its own: ``init()`` once, then ``start()`` / ``stop()`` as often as needed."""

    def __init__(self, password: str = "test-superuser-password", port: int | None = None, tls: bool = False) -> None:  # noqa: S107
        self.pg_bin = find_pg_bin()
        self.tls = tls
        self.root = Path(tempfile.mkdtemp(prefix="flask-app-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.password = password
        self.port = port or free_port()
        self._as_root = os.geteuid() == 0

    @property
    def server(self) -> PgServer:
        """Connection details of this cluster (valid once started)."""
        return PgServer("127.0.0.1", self.port, SUPERUSER, self.password)

    def _run(self, *args: str) -> None:
        cmd = [str(a) for a in args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def init(self) -> PgCluster:
        """initdb with password (SCRAM) authentication over TCP, as on a real server."""
        self.sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self._as_root:
            shutil.chown(self.root, "postgres")
            for path in (self.sockets, pwfile):
                shutil.chown(path, "postgres")
        self._run(
            self.pg_bin / "initdb",
            "-D", str(self.data),
            "-U", SUPERUSER,
            "--pwfile", str(pwfile),
            "--auth-host", "scram-sha-256",
            "--auth-local", "trust",
            "-E", "UTF8",
            "--locale", "C",
            "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        if self.tls:
            self._make_certificate()
        return self

    @property
    def ca_file(self) -> Path:
        """The server's self-signed certificate, to verify it with sslmode=verify-full (tls=True)."""
        return self.root / "server.crt"

    def _make_certificate(self) -> None:
        # A self-signed certificate for 127.0.0.1, so sslmode=verify-full can check the host.
        key = self.root / "server.key"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(key), "-out", str(self.ca_file),
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        key.chmod(0o600)
        if self._as_root:
            shutil.chown(key, "postgres")

    def start(self) -> PgCluster:
        """Start and wait until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        if self.tls:
            options += f" -c ssl=on -c ssl_cert_file={self.ca_file} -c ssl_key_file={self.root / 'server.key'}"
        self._run(
            self.pg_bin / "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"
        )
        return self

    def stop(self) -> None:
        """Stop at once (the data is throwaway)."""
        if (self.data / "postmaster.pid").exists():
            self._run(self.pg_bin / "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        """Stop and remove every file."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
