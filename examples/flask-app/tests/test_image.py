"""What the image is made of: Dockerfile, .dockerignore, gunicorn settings, compose file, README."""

from __future__ import annotations

import importlib
import re
import runpy
from importlib import metadata
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app.config import ConfigError, Settings

from .conftest import APP_DIR

DOCKERFILE = (APP_DIR / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in text.splitlines() if line.upper().startswith(name + " ")]


def test_the_base_image_is_a_pinned_python_3_12_slim() -> None:
    (base,) = _instructions("FROM")
    assert re.fullmatch(r"python:3\.12\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base


def test_the_image_runs_as_a_non_root_user() -> None:
    users = _instructions("USER")
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_the_healthcheck_probes_health_with_python_not_curl() -> None:
    (check,) = _instructions("HEALTHCHECK")
    assert "/health" in check and "urllib.request" in check and "curl" not in check


def test_the_entrypoint_ends_by_exec_ing_the_boot_that_runs_gunicorn_so_it_is_pid_1() -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert entrypoint.startswith("["), "exec form, so no shell sits between Docker and the script"
    script = (APP_DIR / "docker" / "entrypoint.sh").read_text().strip().splitlines()
    assert script[-1].startswith("exec python3 -m app.boot serve --config")


@pytest.mark.parametrize("script", ["docker/entrypoint.sh", "run-tests.sh", "bench/bench_todos.sh"])
def test_shell_scripts_stop_on_errors(script: str) -> None:
    assert "set -euo pipefail" in (APP_DIR / script).read_text()


def test_gunicorn_is_tuned_for_a_quarter_vcpu_and_the_shutdown_budget() -> None:
    conf: dict[str, Any] = runpy.run_path(str(APP_DIR / "gunicorn.conf.py"))
    assert conf["workers"] == 1 and conf["worker_class"] == "app.server.ThreadWorker"
    env = {"DB_HOST": "h", "DB_NAME": "n", "DB_USER": "u", "DB_PASSWORD": "p", "JWT_SECRET": "x" * 32}
    settings = Settings.from_env(env)
    # Threads left over when every database slot is taken: /health and /ready always get one.
    assert conf["threads"] - settings.db_request_slots >= 4
    # Every request is answered (deadline) before gunicorn gives up on it at shutdown, and
    # gunicorn is done before ECS's stopTimeout (30 s, src/service) sends SIGKILL.
    assert settings.request_deadline_seconds < 29, "inside API Gateway's integration timeout"
    assert conf["graceful_timeout"] < 30
    with pytest.raises(ConfigError, match="REQUEST_DEADLINE_SECONDS"):
        Settings.from_env({**env, "REQUEST_DEADLINE_SECONDS": str(conf["graceful_timeout"])})
    assert conf["timeout"] > settings.request_deadline_seconds, "the heartbeat never kills a request in time"
    assert conf["bind"] == "0.0.0.0:8000"


def _pins() -> dict[str, str]:
    lines = [line.strip() for line in (APP_DIR / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line and not line.startswith("#")]
    assert requirements and all(re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[0-9][^ ]*", r) for r in requirements)
    return {canonicalize_name(name): version for name, version in (r.split("==") for r in requirements)}


def test_every_runtime_requirement_is_pinned() -> None:
    assert _pins()


def test_every_dependency_of_a_pinned_package_is_pinned_too() -> None:
    pins = _pins()
    environment = {"extra": "", "python_version": "3.12", "python_full_version": "3.12.11", "sys_platform": "linux"}
    missing = set()
    for name in pins:
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            applies = requirement.marker is None or requirement.marker.evaluate(environment)
            if applies and canonicalize_name(requirement.name) not in pins:
                missing.add(f"{requirement.name} (for {name})")
    assert missing == set()


def test_the_lambda_adapter_and_runtime_client_are_in_the_image() -> None:
    assert {"apig-wsgi", "awslambdaric"} <= set(_pins())


def test_the_documented_lambda_overrides_name_handlers_that_exist() -> None:
    overrides = re.findall(r'EntryPoint \["python3", "-m", "awslambdaric"\], Command \["([a-z_.]+)"\]', DOCKERFILE)
    assert overrides == ["app.lambda_handler.handler", "app.lambda_handler.migrate"]
    for override in overrides:
        module, name = override.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name))
    assert "PYTHONPATH=/app" in DOCKERFILE and _instructions("WORKDIR") == ["/app"]


def test_lambdas_own_user_can_read_every_file_the_image_sets_a_mode_on() -> None:
    modes = re.findall(r"chmod\s+(?:-R\s+)?([0-7]{3,4})", DOCKERFILE)
    assert modes and all(int(mode[-1]) & 4 for mode in modes), modes


# --- build context ------------------------------------------------------------------------


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        elif glob[i] == "[":
            end = glob.index("]", i)
            out, i = out + glob[i : end + 1], end + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


def _docker_ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _glob_to_regex(pattern.lstrip("!"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


@pytest.fixture(scope="module")
def ignore_patterns() -> list[str]:
    lines = (APP_DIR / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    "path",
    [
        "tests/test_todos.py",
        "tests/test_lambda_handler.py",
        "tests/lambda_events.py",
        "tests/conftest.py",
        "bench/bench_todos.sh",
        "docs/openapi.yaml",
        "README.md",
        "run-tests.sh",
        "requirements-dev.txt",
        "pyproject.toml",
        "docker/docker-compose.yml",
        "app/__pycache__/db.cpython-312.pyc",
        ".pytest_cache/v/cache",
        ".ruff_cache/x",
        ".hypothesis/examples/x",
        ".venv/bin/python",
        "app/.hypothesis/x",
    ],
)
def test_the_build_context_leaves_out_what_the_image_does_not_need(path: str, ignore_patterns: list[str]) -> None:
    assert _docker_ignored(path, ignore_patterns)


def test_the_build_context_holds_everything_the_dockerfile_copies(ignore_patterns: list[str]) -> None:
    sources = [src for copy in _instructions("COPY") for src in copy.split()[:-1]]
    files = []
    for source in sources:
        path = APP_DIR / source
        found = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        files += [p.relative_to(APP_DIR).as_posix() for p in found]
    assert "app/db.py" in files and "migrations/0001_users_and_todos.sql" in files
    assert [f for f in files if _docker_ignored(f, ignore_patterns) and "__pycache__" not in f] == []


# --- local run and docs -------------------------------------------------------------------

CONTRACT = {
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_SSLMODE",
    "JWT_SECRET",
    "JWT_EXPIRES_SECONDS",
    "PORT",
}


def test_compose_runs_postgresql_16_and_the_app_with_the_aws_environment_contract() -> None:
    compose = yaml.safe_load((APP_DIR / "docker" / "docker-compose.yml").read_text())
    assert compose["services"]["db"]["image"].startswith("postgres:16")
    app = compose["services"]["app"]
    assert set(app["environment"]) >= CONTRACT
    assert (
        APP_DIR / "docker" / app["build"]["context"] / app["build"]["dockerfile"]
    ).resolve() == APP_DIR / "Dockerfile"


def _variables_read() -> set[str]:
    python = "\n".join(p.read_text() for p in (APP_DIR / "app").glob("*.py"))
    shell = (
        "\n".join(p.read_text() for p in (APP_DIR / "docker").glob("*.sh")) + (APP_DIR / "gunicorn.conf.py").read_text()
    )
    names = set(re.findall(r'(?:required|integer|number|choice|flag|get)\(\s*"([A-Z][A-Z0-9_]+)"', python))
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", shell))
    names |= set(re.findall(r"environ\.get\(['\"]([A-Z][A-Z0-9_]+)", shell))
    return names - {"PYTHONPATH", "BASH_SOURCE"}


def test_the_readme_documents_every_environment_variable_the_app_reads() -> None:
    readme = (APP_DIR / "README.md").read_text()
    names = _variables_read()
    assert names >= CONTRACT
    assert {n for n in names if f"`{n}`" not in readme} == set()
