"""Init container of the API pod: wait until the database and the object store answer, create the bucket.

Reads the API's own environment (LOGSYNERGY_DATABASE_URL, LOGSYNERGY_STORE_*); WAIT_TIMEOUT_S bounds the
wait, CREATE_BUCKET=true creates the bucket named by LOGSYNERGY_STORE_URL (s3://bucket[/prefix]) when
missing. Exits non-zero with one clear line when a dependency stays unreachable.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from minio import Minio


def wait_for(what: str, check: Callable[[], None], deadline: float) -> None:
    """Call `check` until it returns without raising or the deadline passes (then exit 1)."""
    last = ""
    while True:
        try:
            check()
            print(f"{what}: ok", flush=True)
            return
        except Exception as exc:  # any failure means "not yet"; report the last one
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            sys.exit(f"{what}: not ready within WAIT_TIMEOUT_S ({last})")
        print(f"{what}: waiting ({last})", flush=True)
        time.sleep(3)


def check_database(url: str) -> None:
    parts = urlsplit(url)
    if not parts.hostname:
        return  # e.g. SQLite: nothing to wait for
    with socket.create_connection((parts.hostname, parts.port or 5432), timeout=5):
        pass


def ensure_bucket(client: Minio, bucket: str) -> None:
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
        print(f"created bucket {bucket!r}", flush=True)


def require_bucket(client: Minio, bucket: str) -> None:
    if not client.bucket_exists(bucket):
        raise LookupError(f"bucket {bucket!r} does not exist (create it, or set store.createBucket=true)")


def main() -> None:
    deadline = time.monotonic() + float(os.environ.get("WAIT_TIMEOUT_S", "300"))
    database_url = os.environ.get("LOGSYNERGY_DATABASE_URL", "")
    if database_url:
        wait_for("database", lambda: check_database(database_url), deadline)
    store_url = os.environ.get("LOGSYNERGY_STORE_URL", "")
    if not store_url.startswith("s3://"):
        return
    bucket = store_url.removeprefix("s3://").split("/", 1)[0]
    client = Minio(
        os.environ["LOGSYNERGY_STORE_ENDPOINT"],
        access_key=os.environ.get("LOGSYNERGY_STORE_ACCESS_KEY"),
        secret_key=os.environ.get("LOGSYNERGY_STORE_SECRET_KEY"),
        secure=os.environ.get("LOGSYNERGY_STORE_SECURE", "true").lower() == "true",
        region=os.environ.get("LOGSYNERGY_STORE_REGION") or None,
    )
    if os.environ.get("CREATE_BUCKET", "false").lower() == "true":
        wait_for(f"object store (bucket {bucket!r})", lambda: ensure_bucket(client, bucket), deadline)
    else:
        wait_for("object store", lambda: require_bucket(client, bucket), deadline)


if __name__ == "__main__":
    main()
