"""The production S3 store (MinioStore, made from `LOGSYNERGY_STORE_*` as the workers make it) against a
real S3 server: SeaweedFS started by the tests. The shared store contract, plus what only a real server
checks: credentials, permissions, multipart ETags and aborts, and a bucket that disappears.

moto (test_store_s3.py) stays for what needs a server that can be reached into.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from helpers.seaweedfs import (  # noqa: F401 (fixtures)
    ACCESS_KEY,
    READER_KEY,
    SECRET_KEY,
    SeaweedS3Server,
    seaweedfs,
    seaweedfs_store_config,
)
from unit.test_store_local import ChunkStream, StoreContract

from logsynergy.errors import ObjectNotFound, ObjectTooLarge, StoreError
from logsynergy.store import MinioStore, StoreConfig, make_store, store_from_env
from logsynergy.store.s3 import PART_SIZE
from logsynergy.synthetic import write_demo_systems
from logsynergy_contracts import ROUTES_KEY, RoutingDocument, SystemRoute, hash_key, system_key
from logsynergy_workers.serving.routes import RoutesCache


def production_store(config: StoreConfig) -> MinioStore:
    """The store as a worker builds it: from the environment variables the launcher passes."""
    store = make_store(store_from_env(config.to_env()))
    assert isinstance(store, MinioStore)
    return store


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class TestSeaweedStore(StoreContract):
    @pytest.fixture
    def store(self, seaweedfs_store_config: StoreConfig) -> MinioStore:  # noqa: F811
        return production_store(seaweedfs_store_config)

    def test_describe(self, store: MinioStore, seaweedfs: SeaweedS3Server) -> None:  # noqa: F811
        assert store.describe() == f"s3://{store.bucket} at {seaweedfs.endpoint}"


def test_bucket_is_created_once(seaweedfs: SeaweedS3Server, seaweedfs_store_config: StoreConfig) -> None:  # noqa: F811
    bucket = seaweedfs_store_config.bucket_and_prefix()[0]
    assert not seaweedfs.client().bucket_exists(bucket)
    production_store(seaweedfs_store_config).put_bytes("k", b"v")
    assert seaweedfs.client().bucket_exists(bucket)
    assert production_store(seaweedfs_store_config).get_bytes("k") == b"v"  # a second store reuses it


def test_region_setting(seaweedfs_store_config: StoreConfig) -> None:  # noqa: F811
    """LOGSYNERGY_STORE_REGION: the bucket is made with that location and requests are signed for it."""
    config = replace(seaweedfs_store_config, region="eu-west-1")
    assert store_from_env(config.to_env()).region == "eu-west-1"
    store = production_store(config)
    store.put_bytes("k", b"v")
    assert store.get_bytes("k") == b"v" and store.list_keys("") == ["k"]


def test_dataset_upload(seaweedfs_store_config: StoreConfig, tmp_path: Path) -> None:  # noqa: F811
    store = production_store(seaweedfs_store_config)
    write_demo_systems(tmp_path / "logs", n_lines=3000)
    logs = sorted((tmp_path / "logs").glob("*.jsonl"))
    assert logs
    for i, log in enumerate(logs):
        stored = store.upload_file(f"tenants/t/datasets/{log.stem}/{i}/log", log)
        assert (stored.size, stored.sha256) == (log.stat().st_size, sha256_of(log))
    infos = store.list_objects("tenants/t/datasets/")
    assert [info.key for info in infos] == sorted(
        f"tenants/t/datasets/{p.stem}/{i}/log" for i, p in enumerate(logs)
    )
    assert all(info.modified > 0 for info in infos)
    back = store.download_file(infos[0].key, tmp_path / "back" / "log")
    assert sha256_of(back) == sha256_of(tmp_path / "logs" / f"{infos[0].key.split('/')[3]}.jsonl")


def test_artifacts_round_trip(seaweedfs_store_config: StoreConfig, tmp_path: Path) -> None:  # noqa: F811
    store = production_store(seaweedfs_store_config)
    src = tmp_path / "artifact"
    files = {
        "detector.json": b'{"threshold": 0.5}',
        "model/weights.pt": bytes(range(256)) * 4000,
        "parser/drain.json": b"[]",
        "empty.txt": b"",
    }
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    prefix = "tenants/t/models/bgl/job-1"
    store.upload_dir(prefix, src)
    store.put_bytes(f"{prefix}0/other", b"a sibling prefix, not part of the artifact")
    out = store.download_dir(prefix, tmp_path / "scratch")
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
    assert store.delete_prefix(prefix + "/") == len(files)
    with pytest.raises(ObjectNotFound):
        store.download_dir(prefix, tmp_path / "again")


def test_routing_table_round_trip(seaweedfs_store_config: StoreConfig) -> None:  # noqa: F811
    """The control plane writes routes.json; the detection endpoint's cache reads it from its own store."""
    writer = production_store(seaweedfs_store_config)
    cache = RoutesCache(production_store(seaweedfs_store_config), ttl_s=0.0)
    assert cache.get().revision == 0  # no table yet: empty
    route = SystemRoute(active="3", versions={"3": "tenants/t/models/bgl/job-3"}, hooks=["http://h/a"])
    document = RoutingDocument(
        revision=7, keys={hash_key("lsk_key"): "t"}, systems={system_key("t", "bgl"): route}
    )
    writer.put_json(ROUTES_KEY, document.model_dump(mode="json"))
    table = cache.get()
    assert table.revision == 7 and table.tenant_for("lsk_key") == "t"
    assert table.document == document
    writer.put_json(ROUTES_KEY, document.model_copy(update={"revision": 8}).model_dump(mode="json"))
    assert cache.get().revision == 8  # replaced whole


def test_multipart_upload_and_abort(
    seaweedfs: SeaweedS3Server,  # noqa: F811
    seaweedfs_store_config: StoreConfig,  # noqa: F811
) -> None:
    store = production_store(seaweedfs_store_config)
    stream = ChunkStream(2 * PART_SIZE + 5)
    stored = store.put_stream("datasets/big/log", stream)
    assert stored.sha256 == stream.sha256.hexdigest()
    stat = store._client.stat_object(store.bucket, "datasets/big/log")
    assert stat.size == 2 * PART_SIZE + 5
    assert stat.etag.endswith("-3")  # three parts: a real multipart upload
    digest = hashlib.sha256()
    for chunk in store.iter_chunks("datasets/big/log"):
        digest.update(chunk)
    assert digest.hexdigest() == stored.sha256

    with pytest.raises(ObjectTooLarge):  # two parts sent, then the limit: the upload is aborted
        store.put_stream("datasets/big/log2", ChunkStream(3 * PART_SIZE, seed=1), max_bytes=2 * PART_SIZE + 1)
    s3 = boto3.client(
        "s3", endpoint_url=f"http://{seaweedfs.endpoint}", aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
    )  # fmt: skip
    assert s3.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    assert store.list_keys("") == ["datasets/big/log"]


def test_missing_objects(seaweedfs_store_config: StoreConfig, tmp_path: Path) -> None:  # noqa: F811
    store = production_store(seaweedfs_store_config)
    store.put_bytes("a/present", b"x")
    for call in (lambda: store.get_bytes("a/absent"), lambda: store.iter_chunks("a/pres")):
        with pytest.raises(ObjectNotFound, match=r"no object 'a/(absent|pres)' in s3://"):
            call()
    assert not store.exists("a/absent") and store.exists("a/present")
    assert store.list_keys("a/absent") == []


@pytest.mark.parametrize(
    ("access_key", "secret_key", "code"),
    [
        (ACCESS_KEY, "not-the-secret-42", "SignatureDoesNotMatch"),
        ("lstest-nobody", SECRET_KEY, "InvalidAccessKeyId"),
    ],
)
def test_wrong_credentials(seaweedfs: SeaweedS3Server, access_key: str, secret_key: str, code: str) -> None:  # noqa: F811
    config = seaweedfs.config(access_key=access_key, secret_key=secret_key)
    with pytest.raises(StoreError) as info:
        production_store(config)
    message = str(info.value)
    assert message.startswith(f"cannot check or create the bucket in S3 bucket '{config.url[5:]}'")
    assert f": {code}: " in message and "check LOGSYNERGY_STORE_" in message
    assert secret_key not in message and SECRET_KEY not in message
    assert not isinstance(info.value, ObjectNotFound)


def test_read_only_identity(seaweedfs: SeaweedS3Server, seaweedfs_store_config: StoreConfig) -> None:  # noqa: F811
    production_store(seaweedfs_store_config).put_json("routing/routes.json", {"revision": 1})
    reader = production_store(
        seaweedfs.config(seaweedfs_store_config.bucket_and_prefix()[0], access_key=READER_KEY)
    )
    assert reader.get_json("routing/routes.json") == {"revision": 1}
    assert reader.list_keys("") == ["routing/routes.json"]
    with pytest.raises(
        StoreError, match=r"cannot store 'x' in S3 bucket .*: AccessDenied.*lacks the permission"
    ) as info:
        reader.put_bytes("x", b"1")
    assert SECRET_KEY not in str(info.value)
    with pytest.raises(StoreError, match=r"cannot check or create the bucket .*: AccessDenied"):
        production_store(seaweedfs.config(access_key=READER_KEY))  # a missing bucket it may not create


def test_bucket_removed_under_the_store(
    seaweedfs: SeaweedS3Server,  # noqa: F811
    seaweedfs_store_config: StoreConfig,  # noqa: F811
) -> None:
    store = production_store(seaweedfs_store_config)
    seaweedfs.client().remove_bucket(store.bucket)
    where = f"S3 bucket '{store.bucket}' at {seaweedfs.endpoint}"
    with pytest.raises(StoreError, match=f"cannot read 'k' in {where}: NoSuchBucket") as info:
        store.get_bytes("k")
    assert not isinstance(info.value, ObjectNotFound)  # a missing bucket is not a missing object
    with pytest.raises(StoreError, match=f"cannot store 'k' in {where}: NoSuchBucket"):
        store.put_bytes("k", b"v")
    with pytest.raises(StoreError, match=f"cannot list '' in {where}: NoSuchBucket"):
        store.list_keys("")
    assert production_store(seaweedfs_store_config).list_keys("") == []  # a new store re-creates it


def test_prefix_namespaces_the_bucket(
    seaweedfs: SeaweedS3Server,  # noqa: F811
    seaweedfs_store_config: StoreConfig,  # noqa: F811
) -> None:
    bucket = seaweedfs_store_config.bucket_and_prefix()[0]
    whole = production_store(seaweedfs_store_config)
    inner = production_store(seaweedfs.config(bucket, prefix="pre/fix"))
    inner.put_bytes("a/b", b"1")
    whole.put_bytes("a/b", b"2")
    assert whole.list_keys("") == ["a/b", "pre/fix/a/b"]
    assert inner.list_keys("") == ["a/b"] and inner.get_bytes("a/b") == b"1"
    assert inner.delete_prefix("") == 1
    assert whole.list_keys("") == ["a/b"]
