"""API Gateway REST API (v1) Lambda proxy events, in the shape the API Gateway developer guide documents.

"Input format of a Lambda function for proxy integration": ``resource``, ``path`` (without the
stage), ``httpMethod``, ``headers`` (the last value of each header) and ``multiValueHeaders`` (all
of them), ``queryStringParameters`` (the last value of each) and ``multiValueQueryStringParameters``
(all of them), both ``null`` without a query string, ``pathParameters``, ``stageVariables``,
``requestContext`` (stage, request id, the caller's identity with the API key, the path with the
stage), ``body`` (a string or ``null``) and ``isBase64Encoded`` (true when API Gateway encoded a
body whose Content-Type is one of the API's binaryMediaTypes).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

STAGE = "Test"
API_ID = "a1b2c3d4e5"
HOST = f"{API_ID}.execute-api.ap-southeast-1.amazonaws.com"
API_KEY = "k" * 40

# The routes of docs/openapi.yaml as API Gateway resources: {id} is a path parameter.
_ID_SEGMENT = re.compile(r"^/todos/([^/]+)$")


def rest_event(
    method: str,
    path: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    query: list[tuple[str, str]] | None = None,
    body: str | bytes | None = None,
    base64_body: bool = False,
    json_body: Any = None,
    multi_value: bool = True,
) -> dict[str, Any]:
    """One REST proxy event for ``method path``.

    ``headers`` and ``query`` are (name, value) pairs in order; a name may repeat. ``json_body`` is
    sent as JSON with its Content-Type. ``base64_body`` encodes the body as API Gateway does for a
    binary media type. ``multi_value=False`` leaves out the multi-value keys, as a console test or
    an older caller may.
    """
    pairs = [
        ("Accept", "application/json"),
        ("Host", HOST),
        ("User-Agent", "python-requests/2.32"),
        ("X-Amzn-Trace-Id", "Root=1-5e1b4151-5ac6c58f5c1f6c1c5a1b2c3d"),
        ("x-api-key", API_KEY),
        ("X-Forwarded-For", "203.0.113.7, 198.51.100.1"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    if json_body is not None:
        body = json.dumps(json_body)
        pairs.append(("Content-Type", "application/json"))
    pairs += headers or []
    raw = body.encode() if isinstance(body, str) else body
    text: str | None
    if raw is None:
        text = None
    elif base64_body:
        text = base64.b64encode(raw).decode()
    else:
        text = raw.decode()
    match = _ID_SEGMENT.match(path)
    resource = "/todos/{id}" if match else path
    now = time.time()
    event: dict[str, Any] = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {name: value for name, value in pairs},
        "queryStringParameters": {name: value for name, value in query} if query else None,
        "pathParameters": {"id": match.group(1)} if match else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "domainName": HOST,
            "domainPrefix": API_ID,
            "extendedRequestId": "Jx2lCE6ESQ0EOfw=",
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "apiKey": API_KEY,
                "apiKeyId": "abcd1234ef",
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": "203.0.113.7",
                "user": None,
                "userAgent": "python-requests/2.32",
                "userArn": None,
            },
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "abc123",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }
    if multi_value:
        multi_headers: dict[str, list[str]] = {}
        for name, value in pairs:
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in query or []:
            multi_query.setdefault(name, []).append(value)
        event["multiValueHeaders"] = multi_headers
        event["multiValueQueryStringParameters"] = multi_query or None
    return event


def documented_example_event() -> dict[str, Any]:
    """The developer guide's own example: ``POST /testStage/hello/world?name=me`` on a ``{proxy+}`` resource."""
    event = rest_event(
        "POST",
        "/hello/world",
        headers=[("headerName", "headerValue"), ("Content-Type", "application/json")],
        query=[("name", "me"), ("multivalueName", "you"), ("multivalueName", "me")],
        body='{\r\n\t"a": 1\r\n}',
    )
    event["resource"] = "/{proxy+}"
    event["pathParameters"] = {"proxy": "hello/world"}
    event["stageVariables"] = {"stageVariableName": "stageVariableValue"}
    event["requestContext"]["resourcePath"] = "/{proxy+}"
    return event


@dataclass
class Reply:
    """A proxy response as API Gateway reads it."""

    raw: dict[str, Any]

    @property
    def status(self) -> int:
        """statusCode."""
        return int(self.raw["statusCode"])

    def header(self, name: str) -> list[str]:
        """Every value of a header, merged from ``headers`` and ``multiValueHeaders`` as API Gateway does."""
        values: list[str] = []
        for key, value in (self.raw.get("headers") or {}).items():
            if key.lower() == name.lower():
                values.append(value)
        for key, many in (self.raw.get("multiValueHeaders") or {}).items():
            if key.lower() == name.lower():
                values = list(many)
        return values

    @property
    def body(self) -> bytes:
        """The body as the client receives it (decoded when ``isBase64Encoded``)."""
        text = self.raw.get("body") or ""
        return base64.b64decode(text) if self.raw.get("isBase64Encoded") else text.encode()

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def error(self, status: int, code: str) -> dict[str, str]:
        """The app's JSON error with this status and code (never a stack trace); return it."""
        assert self.status == status, (self.status, self.raw.get("body"))
        assert self.header("Content-Type") == ["application/json"], self.raw
        assert self.raw.get("isBase64Encoded") is False
        body = self.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert body["error"]["code"] == code, body
        assert "Traceback" not in self.body.decode()
        return body["error"]  # type: ignore[no-any-return]
