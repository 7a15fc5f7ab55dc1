"""A real S3 API on loopback for the tests: moto in server mode, one per test session.

Registered for the whole suite from ``tests/conftest.py`` (``pytest_plugins``). Fixtures:

- ``s3_server`` (session): the endpoint URL (``http://127.0.0.1:PORT``) of a moto server
  started on first use and stopped when the session ends.
- ``s3_env`` (function): points the AWS environment at that server with dummy credentials,
  region ``us-east-1`` and no config files, profile or instance metadata, so a plain
  ``boto3.client("s3")`` made anywhere (the code under test included) talks to moto and
  nothing can reach the real AWS. Returns the endpoint URL.
- ``s3_bucket`` (function, uses ``s3_env``): a fresh, uniquely named, empty bucket as an
  :class:`S3Bucket` (``.name``, ``.client``, ``.uri``); emptied and deleted afterwards.

boto3 and moto are imported when a fixture is first used, so the suite still collects (and the
S3 tests skip) where they are not installed, and tests that never touch S3 pay nothing.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["S3Bucket", "s3_bucket", "s3_env", "s3_server"]

REGION = "us-east-1"
ACCESS_KEY_ID = "testing-access-key"  # moto accepts any credentials
SECRET_ACCESS_KEY = "testing-secret-key"  # noqa: S105 - a dummy, never a real secret
_NO_FILE = "/nonexistent/arthur-capture-tests/aws"

# Variables that would send boto3 elsewhere (a profile, a per-service endpoint that beats
# AWS_ENDPOINT_URL, a flag that ignores it) or pick up real credentials: all removed.
_UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL_S3",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CA_BUNDLE",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


@dataclass(frozen=True, slots=True)
class S3Bucket:
    """A bucket on the test server: its name, a boto3 client for it, and its ``s3://`` URI."""

    name: str
    client: Any  # a boto3 S3 client (boto3 ships no type hints)

    @property
    def uri(self) -> str:
        """``s3://NAME``."""
        return f"s3://{self.name}"


def make_client(endpoint: str) -> Any:
    """A boto3 S3 client for ``endpoint`` with the test credentials and region."""
    boto3 = pytest.importorskip("boto3")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on 127.0.0.1, started once per session."""
    pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    # Werkzeug logs every request at INFO (to stderr when nothing else handles it): silence it.
    werkzeug_log = logging.getLogger("werkzeug")
    old_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug_log.setLevel(old_level)


@pytest.fixture
def s3_env(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the AWS environment at the test server for this test; returns the endpoint URL."""
    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", _NO_FILE + "/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", _NO_FILE + "/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3's default session caches credentials: start each test with a new one.
    monkeypatch.setattr(pytest.importorskip("boto3"), "DEFAULT_SESSION", None)
    # A proxy in the environment must not see loopback requests.
    for name in ("NO_PROXY", "no_proxy"):
        current = [part for part in os.environ.get(name, "").split(",") if part]
        monkeypatch.setenv(name, ",".join([*current, "127.0.0.1", "localhost"]))
    return s3_server


@pytest.fixture
def s3_bucket(s3_env: str) -> Iterator[S3Bucket]:
    """A fresh empty bucket on the test server (the AWS environment points there too)."""
    client = make_client(s3_env)
    name = f"test-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    yield S3Bucket(name=name, client=client)
    _drop_bucket(client, name)


def _drop_bucket(client: Any, name: str) -> None:
    """Empty and delete a bucket, so a long session does not pile objects up in memory."""
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=name)
    except Exception:  # a test may have removed the bucket itself: fine
        return
