"""One settings object for the control plane, read from `LOGSYNERGY_*` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from logsynergy.store import StoreConfig
from logsynergy_api.security import check_chosen_key
from logsynergy_contracts import ALLOW_PRIVATE_ENV, AllowList

EXPANSION = 4  # default decompressed-size limit of an upload, as a multiple of the upload limit


class Settings(BaseSettings):
    """Embedded defaults (SQLite and a local store under DATA_DIR, a local Ray) unless told otherwise."""

    model_config = SettingsConfigDict(env_prefix="LOGSYNERGY_", extra="ignore")

    data_dir: Path = Field(default=Path(".logsynergy"), description="state of the local platform")
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in DATA_DIR if unset")
    store_url: str | None = Field(
        default=None, description="file:///dir or s3://bucket; DATA_DIR/store if unset"
    )
    store_endpoint: str | None = None
    store_access_key: str | None = None
    store_secret_key: SecretStr | None = None
    store_secure: bool = True
    store_region: str | None = None
    ray_address: str | None = Field(default=None, description="Ray dashboard URL for job submission")
    dashboard_port: int = 8265
    serve_port: int = 8000
    serve_url: str | None = Field(default=None, description="public URL of the detection endpoint")
    bench_dir: Path | None = Field(
        default=None, description="a `make bench` output folder whose plots the web console shows"
    )
    serve_direct_ingress: bool = Field(
        default=True,
        description="local platform: the ingress replica itself serves SERVE_PORT (no proxy hop)",
    )
    bootstrap_api_key: SecretStr | None = Field(
        default=None, description="the admin key (at least 24 varied characters); generated if unset"
    )
    hook_allow_private: str = Field(
        default="",
        description="hosts, addresses or CIDR networks (comma-separated) that alert hooks may reach "
        "although they are not public",
    )
    max_running_jobs: int | None = Field(default=None, ge=1, description="default: the cluster's CPUs")
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_s: float = Field(default=5.0, ge=0)
    scheduler_interval_s: float = Field(default=1.0, gt=0)
    anomaly_ingest: bool = Field(
        default=True, description="ingest the anomalies the detection endpoint records, in this process"
    )
    anomaly_ingest_interval_s: float = Field(default=1.0, gt=0, description="pause between inbox passes")
    anomaly_retention_days: float = Field(
        default=30.0, gt=0, description="unjudged anomalies older than this are purged (judged ones stay)"
    )
    max_upload_mb: float = Field(default=512.0, gt=0)
    max_import_mb: float = Field(default=20.0, gt=0, description="largest interpretations import")
    max_upload_expanded_mb: float | None = Field(
        default=None, gt=0, description=f"decompressed size of an upload; default {EXPANSION} × MAX_UPLOAD_MB"
    )
    max_upload_lines: int = Field(default=5_000_000, ge=1, description="lines of an upload, blank ones too")
    train_use_gpu: bool = Field(default=False, description="train on a GPU worker of the Ray cluster")
    worker_python: str | None = Field(default=None, description="python of the Ray job entrypoint")
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None

    @field_validator("bootstrap_api_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_chosen_key(value.get_secret_value(), "LOGSYNERGY_BOOTSTRAP_API_KEY")
        return value

    @field_validator("hook_allow_private")
    @classmethod
    def _allow_list(cls, value: str) -> str:
        AllowList.parse(value)  # HookUrlError (a ValueError) names a malformed entry
        return value

    @property
    def hook_allow(self) -> AllowList:
        """The private hook targets allowed (`hook_allow_private` parsed)."""
        return AllowList.parse(self.hook_allow_private)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'logsynergy.db').resolve()}"

    @property
    def store_config(self) -> StoreConfig:
        url = self.store_url or (self.data_dir / "store").resolve().as_uri()
        secret = self.store_secret_key.get_secret_value() if self.store_secret_key else None
        return StoreConfig(
            url=url,
            endpoint=self.store_endpoint,
            access_key=self.store_access_key,
            secret_key=secret,
            secure=self.store_secure,
            region=self.store_region,
        )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_import_bytes(self) -> int:
        return int(self.max_import_mb * 1024 * 1024)

    @property
    def max_upload_expanded_bytes(self) -> int:
        """How large an upload may become once decompressed (a plain-text upload is its own size)."""
        if self.max_upload_expanded_mb is None:
            return EXPANSION * self.max_upload_bytes
        return int(self.max_upload_expanded_mb * 1024 * 1024)

    @property
    def dashboard_url(self) -> str:
        return self.ray_address or f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def detect_url(self) -> str:
        return self.serve_url or f"http://127.0.0.1:{self.serve_port}"

    def llm_env(self) -> dict[str, str]:
        """The LLM settings as the core interpreter reads them (LOGSYNERGY_LLM_*)."""
        env: dict[str, str] = {}
        if self.llm_base_url:
            env["LOGSYNERGY_LLM_BASE_URL"] = self.llm_base_url
        if self.llm_model:
            env["LOGSYNERGY_LLM_MODEL"] = self.llm_model
        if self.llm_api_key:
            env["LOGSYNERGY_LLM_API_KEY"] = self.llm_api_key.get_secret_value()
        return env

    def worker_env(self) -> dict[str, str]:
        """What a training job or serving replica needs: the store, the LLM, offline model loading, the
        hook allow-list."""
        env = {**self.store_config.to_env(), **self.llm_env(), "HF_HUB_OFFLINE": "1"}
        if self.hook_allow_private:
            env[ALLOW_PRIVATE_ENV] = self.hook_allow_private
        for name in ("OMP_NUM_THREADS", "LOGSYNERGY_DATASETS"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env


@lru_cache
def get_settings() -> Settings:
    return Settings()
