"""MinioStore against a real S3 endpoint (moto's server on 127.0.0.1): the shared store contract and more."""

from __future__ import annotations

import socket

import boto3
import pytest
from helpers.s3_server import MotoS3Server, s3_server, s3_store_config  # noqa: F401 (fixtures)
from minio import Minio
from unit.test_store_local import ChunkStream, StoreContract

from logsynergy.errors import ObjectNotFound, ObjectTooLarge, StoreError
from logsynergy.store import MinioStore, StoreConfig, make_store, store_from_env
from logsynergy.store.s3 import PART_SIZE


class TestMinioStore(StoreContract):
    @pytest.fixture
    def store(self, s3_store_config: StoreConfig) -> MinioStore:  # noqa: F811
        store = make_store(s3_store_config)
        assert isinstance(store, MinioStore)
        return store

    def test_describe(self, store: MinioStore, s3_server: MotoS3Server) -> None:  # noqa: F811
        assert store.describe() == f"s3://{store.bucket} at {s3_server.endpoint}"


def test_large_upload_is_multipart_and_aborted_over_limit(s3_store_config: StoreConfig) -> None:  # noqa: F811
    store = make_store(s3_store_config)
    assert isinstance(store, MinioStore)
    store.put_stream("big", ChunkStream(3 * PART_SIZE + 5))
    assert store._client.stat_object(store.bucket, "big").etag.endswith("-4")  # 4 parts
    with pytest.raises(ObjectTooLarge):
        store.put_stream("big2", ChunkStream(3 * PART_SIZE), max_bytes=2 * PART_SIZE + 1)
    s3 = boto3.client(
        "s3", endpoint_url=f"http://{s3_store_config.endpoint}", aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    )  # fmt: skip
    assert s3.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []  # aborted
    assert store.list_keys("") == ["big"]


def test_env_round_trip_reaches_the_same_bucket(s3_store_config: StoreConfig) -> None:  # noqa: F811
    env = s3_store_config.to_env()
    assert env["LOGSYNERGY_STORE_SECURE"] == "false"
    assert store_from_env(env) == s3_store_config
    make_store(s3_store_config).put_json("routing/routes.json", {"revision": 1})
    assert make_store(store_from_env(env)).get_json("routing/routes.json") == {"revision": 1}


def test_prefix_namespaces_the_bucket(s3_store_config: StoreConfig, s3_server: MotoS3Server) -> None:  # noqa: F811
    bucket = s3_store_config.bucket_and_prefix()[0]
    whole = make_store(s3_store_config)
    inner = make_store(s3_server.config(bucket, prefix="pre/fix"))
    assert inner.describe() == f"s3://{bucket}/pre/fix at {s3_server.endpoint}"
    inner.put_bytes("a/b", b"1")
    whole.put_bytes("a/b", b"2")
    assert whole.list_keys("") == ["a/b", "pre/fix/a/b"]
    assert inner.list_keys("") == ["a/b"] and inner.get_bytes("a/b") == b"1"
    assert inner.delete_prefix("") == 1
    assert whole.list_keys("") == ["a/b"]


def test_bucket_created_once_and_url_style_endpoint(s3_store_config: StoreConfig) -> None:  # noqa: F811
    bucket = s3_store_config.bucket_and_prefix()[0]
    endpoint = str(s3_store_config.endpoint)
    client = Minio(endpoint, "testing", "testing", secure=False)
    assert not client.bucket_exists(bucket)
    make_store(s3_store_config).put_bytes("k", b"v")
    assert client.bucket_exists(bucket)
    url_style = StoreConfig(s3_store_config.url, f"http://{endpoint}", "testing", "testing", secure=True)
    assert make_store(url_style).get_bytes("k") == b"v"  # a second store reuses the bucket


def test_server_errors_become_store_errors(s3_store_config: StoreConfig) -> None:  # noqa: F811
    store = make_store(s3_store_config)
    assert isinstance(store, MinioStore)
    Minio(str(s3_store_config.endpoint), "testing", "testing", secure=False).remove_bucket(store.bucket)
    where = f"bucket '{store.bucket}' at {s3_store_config.endpoint}"
    with pytest.raises(StoreError, match=f"cannot read 'k' in S3 {where}: NoSuchBucket"):
        store.get_bytes("k")
    with pytest.raises(StoreError) as info:
        store.put_bytes("k", b"v")
    assert not isinstance(info.value, ObjectNotFound)


def test_unreachable_endpoint_is_a_store_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    config = StoreConfig("s3://bucket", f"127.0.0.1:{port}", "testing", "testing", secure=False)
    where = f"S3 bucket 'bucket' at 127.0.0.1:{port}"
    with pytest.raises(StoreError, match=f"cannot check or create the bucket in {where}: .*refused"):
        make_store(config)


def test_invalid_bucket_name_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="invalid S3 settings"):
        make_store(StoreConfig("s3://Bad_Bucket!", "127.0.0.1:1", secure=False))
