"""`StoreConfig`: which store to use, read from / written to `LOGSYNERGY_STORE_*` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from logsynergy.errors import ConfigError
from logsynergy.store.base import ObjectStore
from logsynergy.store.local import LocalStore
from logsynergy.store.s3 import MinioStore

ENV_PREFIX = "LOGSYNERGY_STORE_"
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass(frozen=True)
class StoreConfig:
    """`url` is `file:///abs/dir`, a plain directory path, or `s3://bucket[/prefix]`."""

    url: str
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    secure: bool = True
    region: str | None = None

    def to_env(self) -> dict[str, str]:
        """The `LOGSYNERGY_STORE_*` variables that make `store_from_env` return this config."""
        env = {f"{ENV_PREFIX}URL": self.url, f"{ENV_PREFIX}SECURE": "true" if self.secure else "false"}
        for name in ("endpoint", "access_key", "secret_key", "region"):
            value = getattr(self, name)
            if value is not None:
                env[f"{ENV_PREFIX}{name.upper()}"] = value
        return env

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def local_root(self) -> Path:
        """The directory of a local store; ConfigError for any other URL."""
        if "://" not in self.url:
            if not self.url.strip():
                raise ConfigError("the object store URL is empty")
            return Path(self.url).expanduser()
        parsed = urlparse(self.url)
        if parsed.scheme != "file":
            raise ConfigError(f"not a local store URL: {self.url!r}")
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise ConfigError(f"a file:// store URL needs an absolute path (file:///dir), got {self.url!r}")
        return Path(unquote(parsed.path))

    def bucket_and_prefix(self) -> tuple[str, str]:
        """`(bucket, prefix)` of an `s3://bucket[/prefix]` URL; ConfigError for any other URL."""
        parsed = urlparse(self.url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigError(f"not an s3://bucket[/prefix] URL: {self.url!r}")
        return parsed.netloc, parsed.path.strip("/")


def _check(config: StoreConfig) -> None:
    if config.is_s3:
        config.bucket_and_prefix()
        if not config.endpoint:
            raise ConfigError(f"{ENV_PREFIX}ENDPOINT (host:port) is required for the S3 store {config.url}")
    elif "://" in config.url and not config.url.startswith("file://"):
        scheme = config.url.split("://", 1)[0]
        raise ConfigError(f"unsupported object store URL scheme {scheme!r} in {config.url!r} (file or s3)")
    else:
        config.local_root()


def store_from_env(environ: Mapping[str, str] | None = None, default_url: str | None = None) -> StoreConfig:
    """Read `LOGSYNERGY_STORE_*` (from `os.environ` by default); a relative directory becomes absolute."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(f"{ENV_PREFIX}{name}", "").strip()
        return value or None

    url = get("URL") or default_url
    if not url:
        raise ConfigError(f"{ENV_PREFIX}URL is not set (file:///dir, a directory, or s3://bucket[/prefix])")
    if "://" not in url:
        url = str(Path(url).expanduser().resolve())
    secure = (get("SECURE") or "true").lower()
    if secure not in _TRUE | _FALSE:
        raise ConfigError(f"{ENV_PREFIX}SECURE must be true or false, got {secure!r}")
    config = StoreConfig(
        url=url,
        endpoint=get("ENDPOINT"),
        access_key=get("ACCESS_KEY"),
        secret_key=get("SECRET_KEY"),
        secure=secure in _TRUE,
        region=get("REGION"),
    )
    _check(config)
    return config


def make_store(config: StoreConfig) -> ObjectStore:
    """A `LocalStore` for `file://` or a plain path, a `MinioStore` for `s3://`."""
    _check(config)
    if not config.is_s3:
        return LocalStore(config.local_root())
    bucket, prefix = config.bucket_and_prefix()
    endpoint, secure = str(config.endpoint), config.secure
    for scheme, tls in (("https://", True), ("http://", False)):  # tolerate a URL-style endpoint
        if endpoint.startswith(scheme):
            endpoint, secure = endpoint[len(scheme) :].rstrip("/"), tls
    return MinioStore(
        endpoint,
        config.access_key,
        config.secret_key,
        bucket,
        prefix=prefix,
        secure=secure,
        region=config.region,
    )
