"""The object store: one interface (`ObjectStore`), a local-directory and an S3/MinIO implementation."""

from logsynergy.errors import ObjectNotFound, ObjectTooLarge, StoreError
from logsynergy.store.base import (
    InvalidKey,
    ObjectInfo,
    ObjectStore,
    StoredObject,
    dir_prefix,
    validate_key,
    validate_prefix,
)
from logsynergy.store.config import StoreConfig, make_store, store_from_env
from logsynergy.store.local import LocalStore
from logsynergy.store.s3 import MinioStore

__all__ = [
    "InvalidKey",
    "LocalStore",
    "MinioStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectTooLarge",
    "StoreConfig",
    "StoreError",
    "StoredObject",
    "dir_prefix",
    "make_store",
    "store_from_env",
    "validate_key",
    "validate_prefix",
]
