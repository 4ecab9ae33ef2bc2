"""One settings object for the control plane, read from `LOGSYNERGY_*` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from logsynergy.store import StoreConfig


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
    serve_direct_ingress: bool = Field(
        default=True,
        description="local platform: the ingress replica itself serves SERVE_PORT (no proxy hop)",
    )
    bootstrap_api_key: SecretStr | None = None
    max_running_jobs: int | None = Field(default=None, ge=1, description="default: the cluster's CPUs")
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_s: float = Field(default=5.0, ge=0)
    scheduler_interval_s: float = Field(default=1.0, gt=0)
    max_upload_mb: float = Field(default=512.0, gt=0)
    train_use_gpu: bool = Field(default=False, description="train on a GPU worker of the Ray cluster")
    worker_python: str | None = Field(default=None, description="python of the Ray job entrypoint")
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None

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
        """What a training job or serving replica needs: the store, the LLM, offline model loading."""
        env = {**self.store_config.to_env(), **self.llm_env(), "HF_HUB_OFFLINE": "1"}
        for name in ("OMP_NUM_THREADS", "LOGSYNERGY_DATASETS"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env


@lru_cache
def get_settings() -> Settings:
    return Settings()
