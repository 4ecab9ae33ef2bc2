"""LocalStore, store configuration, and `StoreContract`: the behaviour every ObjectStore must show.

tests/integration/test_store_s3.py runs the same contract against MinioStore on a real S3 server.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from pathlib import Path

import pytest

from logsynergy.errors import ConfigError, InputError, ObjectNotFound, ObjectTooLarge, StoreError
from logsynergy.store import InvalidKey, LocalStore, ObjectStore, StoreConfig, make_store, store_from_env

BAD_KEYS = ["", "/abs/key", "a/../b", "..", "a\\b", "a\x00b", "line\nbreak", "a//b", "a/", "./a", "a/.~tmp-x"]


class ChunkStream:
    """A stream of `total` pseudo-random bytes made chunk by chunk (never all in memory); short reads."""

    def __init__(self, total: int, chunk: int = 1 << 16, seed: int = 0) -> None:
        self.left, self.chunk, self.rng = total, chunk, random.Random(seed)
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        size = min(self.left, self.chunk if n is None or n < 0 else min(n, self.chunk))
        data = self.rng.randbytes(size)
        self.left -= size
        self.sha256.update(data)
        return data


class StoreContract:
    """Contract tests; a subclass provides the `store` fixture (an empty store)."""

    def test_round_trips(self, store: ObjectStore, tmp_path: Path) -> None:
        data = bytes(range(256)) * 1000
        stored = store.put_bytes("tenants/t/a.bin", data)
        assert (stored.key, stored.size, stored.sha256) == ("tenants/t/a.bin", len(data), _sha(data))
        assert store.get_bytes("tenants/t/a.bin") == data
        assert b"".join(store.iter_chunks("tenants/t/a.bin", chunk_size=1000)) == data
        assert store.exists("tenants/t/a.bin") and not store.exists("tenants/t/b.bin")

        obj = {"stage": "training", "epoch": 3, "loss": 0.41, "message": "ünïcode ✓", "nested": [1, None]}
        assert store.put_json("jobs/1/progress.json", obj).size > 0
        assert store.get_json("jobs/1/progress.json") == obj
        store.put_json("jobs/1/progress.json", {"stage": "done"})  # replaces the whole object
        assert store.get_json("jobs/1/progress.json") == {"stage": "done"}

        src = tmp_path / "in.bin"
        src.write_bytes(data[:777])
        assert store.upload_file("files/in.bin", src).sha256 == _sha(data[:777])
        out = store.download_file("files/in.bin", tmp_path / "deep" / "out.bin")
        assert out.read_bytes() == data[:777]
        assert store.put_bytes("empty", b"").size == 0 and store.get_bytes("empty") == b""

        store.put_bytes("bad.json", b"{not json")
        with pytest.raises(StoreError, match="not valid JSON"):
            store.get_json("bad.json")

    def test_size_limit_leaves_nothing(self, store: ObjectStore) -> None:
        with pytest.raises(ObjectTooLarge, match="limit of 100 bytes"):
            store.put_stream("up/big", io.BytesIO(b"x" * 101), max_bytes=100)
        assert not store.exists("up/big")
        assert store.list_keys("") == []
        assert store.put_stream("up/fits", io.BytesIO(b"x" * 100), max_bytes=100).size == 100

        store.put_bytes("up/keep", b"old")
        with pytest.raises(ObjectTooLarge):
            store.put_stream("up/keep", io.BytesIO(b"y" * 200), max_bytes=100)
        assert store.get_bytes("up/keep") == b"old"
        assert store.list_keys("") == ["up/fits", "up/keep"]

    def test_streamed_upload_of_20mb(self, store: ObjectStore) -> None:
        stream = ChunkStream(20_000_000)
        stored = store.put_stream("datasets/big/log", stream, max_bytes=25_000_000)
        assert stored.size == 20_000_000 and stored.sha256 == stream.sha256.hexdigest()
        read_back = hashlib.sha256()
        for chunk in store.iter_chunks("datasets/big/log"):
            read_back.update(chunk)
        assert read_back.hexdigest() == stored.sha256

        with pytest.raises(ObjectTooLarge):  # fails after several parts / chunks were already sent
            store.put_stream("datasets/big/log2", ChunkStream(20_000_000, seed=1), max_bytes=18_000_000)
        assert not store.exists("datasets/big/log2")
        assert store.list_keys("datasets/") == ["datasets/big/log"]

    def test_missing_key(self, store: ObjectStore, tmp_path: Path) -> None:
        with pytest.raises(ObjectNotFound, match="nope"):
            store.get_bytes("a/nope")
        with pytest.raises(ObjectNotFound):
            store.get_json("a/nope.json")
        with pytest.raises(ObjectNotFound):
            store.iter_chunks("a/nope")  # raised at once, not at the first chunk
        with pytest.raises(ObjectNotFound):
            store.download_file("a/nope", tmp_path / "x")
        assert not (tmp_path / "x").exists()
        with pytest.raises(ObjectNotFound):
            store.download_dir("a/", tmp_path / "d")
        store.delete("a/nope")  # no error
        assert not store.exists("a/nope")

    @pytest.mark.parametrize("key", BAD_KEYS)
    def test_bad_keys_rejected(self, store: ObjectStore, key: str) -> None:
        for call in (
            lambda: store.put_bytes(key, b"x"),
            lambda: store.get_bytes(key),
            lambda: store.exists(key),
            lambda: store.delete(key),
        ):
            with pytest.raises(InvalidKey) as info:
                call()
            assert isinstance(info.value, StoreError) and isinstance(info.value, InputError)
        with pytest.raises(InvalidKey):
            store.list_keys("../x")
        assert store.list_keys("") == []

    def test_prefix_listing_and_deletion(self, store: ObjectStore) -> None:
        for key in ["a/1", "a/2/x", "a/2/y", "ab/3", "b"]:
            store.put_bytes(key, key.encode())
        assert store.list_keys("") == ["a/1", "a/2/x", "a/2/y", "ab/3", "b"]
        assert store.list_keys("a/") == ["a/1", "a/2/x", "a/2/y"]
        assert store.list_keys("a") == ["a/1", "a/2/x", "a/2/y", "ab/3"]
        assert store.list_keys("a/2/") == ["a/2/x", "a/2/y"]
        assert store.list_keys("zzz/") == []
        assert store.delete_prefix("a/2/") == 2
        assert store.delete_prefix("a/") == 1
        assert store.delete_prefix("a/") == 0
        assert store.list_keys("") == ["ab/3", "b"]
        store.delete("b")
        assert store.list_keys("") == ["ab/3"] and store.get_bytes("ab/3") == b"ab/3"

    def test_dir_upload_and_download(self, store: ObjectStore, tmp_path: Path) -> None:
        src = tmp_path / "artifact"
        files = {"weights.pt": os.urandom(5000), "detector.json": b"{}", "parser/state.bin": b"drain"}
        for rel, data in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
        stored = store.upload_dir("tenants/t/models/bgl/j1", src)
        prefix = "tenants/t/models/bgl/j1/"
        assert [s.key for s in stored] == sorted(prefix + rel for rel in files)
        assert {s.key: s.sha256 for s in stored} == {prefix + r: _sha(d) for r, d in files.items()}
        store.put_bytes("tenants/t/models/bgl/j10/other", b"not mine")

        out = store.download_dir("tenants/t/models/bgl/j1", tmp_path / "out")
        got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert got == files
        with pytest.raises(InputError):
            store.upload_dir("x", tmp_path / "missing")


class TestLocalStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalStore:
        return LocalStore(tmp_path / "store")

    def test_no_temp_files_left(self, store: LocalStore) -> None:
        store.put_bytes("d/keep", b"1")
        with pytest.raises(ObjectTooLarge):
            store.put_stream("d/big", ChunkStream(3_000_000), max_bytes=2_000_000)
        assert [p.name for p in (store.root / "d").iterdir()] == ["keep"]
        store.delete("d/keep")
        assert list(store.root.iterdir()) == []  # empty directories are pruned
        assert store.describe() == f"local directory {store.root}"

    def test_file_directory_conflicts(self, store: LocalStore) -> None:
        store.put_bytes("a/b", b"1")
        with pytest.raises(StoreError, match="cannot write 'a/b/c'"):
            store.put_bytes("a/b/c", b"2")
        with pytest.raises(StoreError, match="cannot write 'a'"):
            store.put_bytes("a", b"3")
        with pytest.raises(ObjectNotFound):
            store.get_bytes("a")
        store.delete("a")  # a directory is not an object
        assert store.list_keys("") == ["a/b"]


def test_local_config_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for url in (str(tmp_path / "s"), f"file://{tmp_path}/s"):
        config = StoreConfig(url=url)
        assert config.to_env()["LOGSYNERGY_STORE_URL"] == url
        assert store_from_env(config.to_env()) == config
    store = make_store(StoreConfig(url=f"file://{tmp_path}/s"))
    assert isinstance(store, LocalStore) and store.root == (tmp_path / "s").resolve()
    store.put_bytes("k", b"v")
    assert make_store(store_from_env({"LOGSYNERGY_STORE_URL": str(tmp_path / "s")})).get_bytes("k") == b"v"

    monkeypatch.chdir(tmp_path)  # a relative directory becomes absolute (a Ray job has another cwd)
    assert store_from_env({}, default_url="rel/dir").url == str(tmp_path / "rel" / "dir")
    monkeypatch.setenv("LOGSYNERGY_STORE_URL", "from-os-environ")
    assert store_from_env().url == str(tmp_path / "from-os-environ")


def test_s3_config_round_trip() -> None:
    config = StoreConfig("s3://bucket/pre/fix", "minio:9000", "ak", "sk", secure=False, region="eu-west-1")
    env = config.to_env()
    assert env == {
        "LOGSYNERGY_STORE_URL": "s3://bucket/pre/fix",
        "LOGSYNERGY_STORE_ENDPOINT": "minio:9000",
        "LOGSYNERGY_STORE_ACCESS_KEY": "ak",
        "LOGSYNERGY_STORE_SECRET_KEY": "sk",
        "LOGSYNERGY_STORE_SECURE": "false",
        "LOGSYNERGY_STORE_REGION": "eu-west-1",
    }
    assert store_from_env(env) == config
    assert config.bucket_and_prefix() == ("bucket", "pre/fix")
    minimal = StoreConfig("s3://b", "h:1")
    assert store_from_env(minimal.to_env()) == minimal and minimal.secure


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "LOGSYNERGY_STORE_URL is not set"),
        ({"LOGSYNERGY_STORE_URL": "s3://bucket"}, "ENDPOINT"),
        ({"LOGSYNERGY_STORE_URL": "gs://bucket"}, "unsupported object store URL scheme 'gs'"),
        ({"LOGSYNERGY_STORE_URL": "file://relative/dir"}, "absolute path"),
        (
            {**StoreConfig("s3://b", "h:1").to_env(), "LOGSYNERGY_STORE_SECURE": "?"},
            "SECURE must be true or false",
        ),
    ],
)
def test_bad_config(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        store_from_env(env)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
