"""docs/openapi.yaml is the contract: the routes match it and real responses validate against it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from flask import Flask

from .conftest import APP_DIR, JWT_SECRET, PASSWORD, REPORT
from .pgcluster import PgServer, free_port

SPEC_PATH = APP_DIR / "docs" / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Fixed so a CI failure can be replayed; FLASK_APP_SCHEMATHESIS_SEED explores other inputs.
SCHEMATHESIS_SEED = os.environ.get("FLASK_APP_SCHEMATHESIS_SEED", "20251125")
SCHEMATHESIS_MAX_EXAMPLES = os.environ.get("FLASK_APP_SCHEMATHESIS_MAX_EXAMPLES", "50")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open() as f:
        loaded: dict[str, Any] = yaml.safe_load(f)
    return loaded


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_spec_is_openapi_3_0_3_for_api_gateway(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.0.3"


def test_the_spec_is_self_contained(spec: dict[str, Any]) -> None:
    refs = list(_refs(spec))
    assert refs, "the spec uses components"
    assert all(ref.startswith("#/components/") for ref in refs), [r for r in refs if not r.startswith("#/")]
    for ref in refs:
        node: Any = spec
        for part in ref[2:].split("/"):
            node = node[part]  # raises KeyError for a dangling reference


def test_the_spec_declares_bearer_auth_on_every_todos_operation(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                expected = [{"bearerAuth": []}] if path.startswith("/todos") else []
                assert operation["security"] == expected, (method, path)


def _spec_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in HTTP_METHODS}


def _flask_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", rule.rule)
        # Werkzeug adds HEAD to every GET rule by itself; it is not an operation of the API.
        routes |= {(method, path) for method in rule.methods or () if method != "HEAD"}
    return routes


def test_every_flask_route_is_in_the_spec_and_every_operation_is_served(app: Flask, spec: dict[str, Any]) -> None:
    assert _flask_routes(app) == _spec_routes(spec)


def test_every_operation_documents_its_error_statuses(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            statuses = set(operation["responses"])
            if path.startswith("/todos"):
                assert {"400", "401", "503"} <= statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= statuses, (method, path)
            if "{id}" in path:
                assert "404" in statuses, (method, path)


@pytest.fixture(scope="module")
def gunicorn_server(pg: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under gunicorn (its production config) on a database of its own."""
    dbname = "contract_test"
    with pg.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {dbname}")
    port = free_port()
    env = {
        **os.environ,
        **pg.db_env(dbname),
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    subprocess.run([sys.executable, "-m", "app.migrate"], cwd=APP_DIR, env=env, check=True, capture_output=True)
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["gunicorn", "--config", "gunicorn.conf.py", "app.wsgi:app"],
            cwd=APP_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{url}/health", timeout=2)
                    break
                except requests.ConnectionError:
                    assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            access_log = log_path.read_text()
            with pg.connect() as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    assert not re.search(r'" 5\d\d ', access_log), "gunicorn logged a server error"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(gunicorn_server: str, tmp_path: Path) -> None:
    credentials = {"username": "schemathesis", "password": PASSWORD}
    requests.post(f"{gunicorn_server}/auth/register", json=credentials, timeout=10)
    token = requests.post(f"{gunicorn_server}/auth/login", json=credentials, timeout=10).json()["access_token"]
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        str(SPEC_PATH),
        "--url",
        gunicorn_server,
        "--header",
        f"Authorization: Bearer {token}",
        # Every check: server errors, status codes, content types, headers and bodies against the
        # schema, negative data rejected, auth enforced, deleted resources gone, 405s with Allow.
        "--checks",
        "all",
        "--max-examples",
        SCHEMATHESIS_MAX_EXAMPLES,
        "--seed",
        SCHEMATHESIS_SEED,
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases, output[-3000:]
    generated, passed = int(cases.group(1)), int(cases.group(2))
    assert generated == passed and generated >= 300, output[-3000:]
    assert re.search(r"Tested: 9\b", output), output[-3000:]
    summary = f"schemathesis: {generated} cases over 9 operations, all passed ({time.monotonic() - started:.0f} s)"
    REPORT.append(summary)
    print(summary)
