"""Settings read from the environment contract the platform provides (see README.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# RDS accepts an IAM auth token only over TLS; these modes never fall back to a clear-text link.
TLS_SSL_MODES = ("require", "verify-ca", "verify-full")

# HS256 keys shorter than the hash output (32 bytes) weaken the signature (RFC 7518, 3.2).
MIN_JWT_SECRET_BYTES = 32


class ConfigError(ValueError):
    """An environment variable is missing or has a value the app cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from the environment, validated once at start."""

    db_host: str
    db_name: str
    db_user: str
    # Never in a repr, so a logged Settings cannot carry it.
    db_password: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    db_port: int = 5432
    db_sslmode: str = "prefer"
    db_sslrootcert: str | None = None
    # DB_IAM_AUTH=1: every new connection's password is an RDS IAM auth token for db_user, signed
    # locally in aws_region (app/iam_auth.py); db_password is not used.
    db_iam_auth: bool = False
    aws_region: str | None = None
    db_application_name: str = "flask-app"
    # One libpq attempt; a paused Aurora holds the attempt open while it resumes (about 15 s).
    db_connect_timeout: int = 20
    # How long a request waits for a connection before answering 503: under API Gateway's 29 s.
    db_pool_timeout_seconds: float = 25.0
    db_pool_max_size: int = 4
    # A pool unused this long is closed, so an idle app holds no connection and Aurora can pause.
    db_pool_max_idle_seconds: float = 60.0
    # /ready waits this long at most, so it answers 503 well within a 5 s probe timeout.
    db_ready_timeout_seconds: float = 3.0
    # Requests allowed to use or wait for the database at once; more get 503 at once. Kept below
    # the gunicorn threads (16) so /health and /ready always find a free thread.
    db_request_slots: int = 12
    # Every request is answered within this many seconds of reaching the server (queueing, pool
    # wait and query included): under API Gateway's 29 s integration timeout, and under
    # gunicorn's graceful_timeout (28 s) so nothing in flight is cut off at shutdown.
    request_deadline_seconds: float = 25.0
    jwt_expires_seconds: int = 3600
    max_content_length: int = 16 * 1024
    retry_after_seconds: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, database_only: bool = False) -> Settings:
        """Build settings from environment variables; raise ConfigError naming the bad one.

        ``database_only`` skips the JWT settings, for the boot tools (wake check, migrations).
        """
        reader = _EnvReader(env)
        iam_auth = reader.flag("DB_IAM_AUTH")
        settings = cls(
            db_host=reader.required("DB_HOST"),
            db_port=reader.integer("DB_PORT", 5432, 1, 65535),
            db_name=reader.required("DB_NAME"),
            db_user=reader.required("DB_USER"),
            db_password="" if iam_auth else reader.required("DB_PASSWORD"),
            db_sslmode=_ssl_mode(reader, iam_auth),
            db_sslrootcert=env.get("DB_SSLROOTCERT") or None,
            db_iam_auth=iam_auth,
            aws_region=_region(env) if iam_auth else None,
            db_application_name=env.get("DB_APPLICATION_NAME") or "flask-app",
            db_connect_timeout=reader.integer("DB_CONNECT_TIMEOUT", 20, 2, 300),
            db_pool_timeout_seconds=reader.number("DB_POOL_TIMEOUT_SECONDS", 25.0, 0.1, 3600),
            db_pool_max_size=reader.integer("DB_POOL_MAX_SIZE", 4, 1, 100),
            db_pool_max_idle_seconds=reader.number("DB_POOL_MAX_IDLE_SECONDS", 60.0, 0.5, 86400),
            db_ready_timeout_seconds=reader.number("DB_READY_TIMEOUT_SECONDS", 3.0, 0.1, 60),
            db_request_slots=_request_slots(reader),
            request_deadline_seconds=reader.number("REQUEST_DEADLINE_SECONDS", 25.0, 1.0, 27.0),
            jwt_secret="" if database_only else reader.required("JWT_SECRET"),
            jwt_expires_seconds=reader.integer("JWT_EXPIRES_SECONDS", 3600, 1, 30 * 86400),
            max_content_length=reader.integer("MAX_CONTENT_LENGTH", 16 * 1024, 1024, 10 * 1024 * 1024),
        )
        if not database_only and len(settings.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ConfigError(
                f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long for HS256 "
                f"(got {len(settings.jwt_secret.encode())}); generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return settings

    def new_password(self) -> str:
        """The password for one new connection: DB_PASSWORD, or with DB_IAM_AUTH=1 a fresh IAM
        auth token (valid 15 minutes for opening a connection; an open one is not cut off)."""
        if not self.db_iam_auth:
            return self.db_password
        from .iam_auth import auth_token  # botocore is imported only in IAM mode

        return auth_token(self.db_host, self.db_port, self.db_user, self.aws_region or "")

    def conninfo_kwargs(self, *, with_password: bool = True) -> dict[str, str | int]:
        """libpq parameters for one new connection (keywords, so no value needs quoting).

        Call it for each connection: with DB_IAM_AUTH=1 the password is a token signed now.
        ``with_password=False`` leaves the password out, for a caller that adds it per connection.
        """
        kwargs: dict[str, str | int] = {
            "host": self.db_host,
            "port": self.db_port,
            "dbname": self.db_name,
            "user": self.db_user,
            "sslmode": self.db_sslmode,
            "application_name": self.db_application_name,
            "connect_timeout": self.db_connect_timeout,
        }
        if self.db_sslrootcert:
            kwargs["sslrootcert"] = self.db_sslrootcert
        if with_password:
            kwargs["password"] = self.new_password()
        return kwargs


def _ssl_mode(reader: _EnvReader, iam_auth: bool) -> str:
    if not iam_auth:
        return reader.choice("DB_SSLMODE", "prefer", SSL_MODES)
    mode = reader.choice("DB_SSLMODE", "require", SSL_MODES)
    if mode not in TLS_SSL_MODES:
        raise ConfigError(
            f"DB_SSLMODE={mode} cannot be used with DB_IAM_AUTH=1: RDS accepts IAM auth tokens only over TLS; "
            f"use one of {', '.join(TLS_SSL_MODES)} (verify-full with DB_SSLROOTCERT checks the server too)"
        )
    return mode


def _region(env: Mapping[str, str]) -> str:
    # AWS_REGION is set by Lambda and ECS; AWS_DEFAULT_REGION is the AWS CLI's name for it.
    region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()
    if not region:
        raise ConfigError(
            "DB_IAM_AUTH=1 needs the database's AWS region in AWS_REGION (or AWS_DEFAULT_REGION) "
            "to sign its auth tokens; neither is set"
        )
    return region


def _request_slots(reader: _EnvReader) -> int:
    # The slots are what keeps threads free for /health: they must stay below gunicorn's threads.
    threads = reader.integer("GUNICORN_THREADS", 16, 2, 256)
    slots = reader.integer("DB_REQUEST_SLOTS", max(1, threads - 4), 1, 256)
    if slots > threads - 2:
        raise ConfigError(
            f"DB_REQUEST_SLOTS ({slots}) must be at most GUNICORN_THREADS - 2 ({threads - 2}), so requests "
            "waiting for the database never take the threads /health and /ready need"
        )
    return slots


class _EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def required(self, name: str) -> str:
        value = self._env.get(name, "")
        if not value:
            raise ConfigError(f"{name} is required but not set")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {raw}")
        return value

    def flag(self, name: str) -> bool:
        value = self._env.get(name, "").strip() or "0"
        if value not in ("0", "1"):
            raise ConfigError(f"{name} must be 0 or 1, got {value!r}")
        return value == "1"

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self._env.get(name, "").strip() or default
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value
