"""The s3:// path: boto3 over HTTP against a local S3-compatible server (moto's server mode)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import APP_PASSWORD, APP_ROLE, Importer, Server, make_dump
from test_import import fill_with_the_app, rows_of

BUCKET = "dumps-bucket"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-not-printed"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="ap-southeast-1", **_keys())
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
    try:
        yield endpoint
    finally:
        server.stop()


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def test_a_dump_in_s3_is_downloaded_and_imported(
    source: Server, target: Server, source_db: str, importer: Importer, tmp_path: Path, s3_endpoint: str
) -> None:
    fill_with_the_app(source, source_db, users=2, todos=3)
    dump = make_dump(source, source_db, tmp_path / "app.dump")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="ap-southeast-1", **_keys())
    client.upload_file(str(dump), BUCKET, "imports/app.dump")
    client.upload_file(f"{dump}.manifest.json", BUCKET, "imports/app.dump.manifest.json")

    result = importer.run(
        dump, IMPORT_DUMP_URI=f"s3://{BUCKET}/imports/app.dump", AWS_ENDPOINT_URL_S3=s3_endpoint, **CREDENTIALS
    )

    assert result.status == 0, result.output
    assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in result.output
    assert rows_of(target, importer.dbname, "SELECT count(*) FROM todos", APP_ROLE, APP_PASSWORD) == [(6,)]
    # The downloaded dump does not outlive the import.
    assert list(importer.work.iterdir()) == []


def test_a_missing_s3_object_stops_before_the_target_is_touched(
    importer: Importer, tmp_path: Path, s3_endpoint: str
) -> None:
    result = importer.run(
        tmp_path / "unused.dump",
        IMPORT_DUMP_URI=f"s3://{BUCKET}/imports/missing.dump",
        AWS_ENDPOINT_URL_S3=s3_endpoint,
        **CREDENTIALS,
    )

    assert result.status == 2
    assert f"s3://{BUCKET}/imports/missing.dump.manifest.json: GetObject failed: NoSuchKey" in result.output
