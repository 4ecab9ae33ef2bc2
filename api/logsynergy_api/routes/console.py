"""The web console (static ES modules over this REST API, at `/console/`) and `GET /v1/info`, the few
platform facts it shows: the Ray dashboard to link jobs to and the benchmark plots."""

from __future__ import annotations

from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from logsynergy_api.deps import PlatformDep, TenantDep
from logsynergy_api.errors import responses

CONSOLE_DIR = Path(str(files("logsynergy_api") / "console"))
PLATFORM_VERSION = version("logsynergy-platform")
router = APIRouter(tags=["console"])


class PlatformInfo(BaseModel):
    version: str
    ray_dashboard_url: str
    detect_url: str
    bench_plots: list[str]


def bench_plots(folder: Path | None) -> list[str]:
    """The PNG plots of a `make bench` output folder, by name (none when unset or missing)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.glob("*.png") if p.is_file())


@router.get("/v1/info", response_model=PlatformInfo, responses=responses(401, 422))
def info(_tenant: TenantDep, platform: PlatformDep) -> PlatformInfo:
    settings = platform.settings
    return PlatformInfo(
        version=PLATFORM_VERSION,
        ray_dashboard_url=settings.dashboard_url,
        detect_url=settings.detect_url,
        bench_plots=bench_plots(settings.bench_dir),
    )


def mount_console(app: FastAPI, bench_dir: Path | None) -> None:
    """Serve the console's files at /console/ and the benchmark plots at /console/bench/."""

    @app.get("/console", include_in_schema=False)
    def console_root() -> RedirectResponse:
        return RedirectResponse("/console/")

    if bench_dir is not None and bench_dir.is_dir():
        app.mount("/console/bench", StaticFiles(directory=bench_dir), name="bench-plots")
    app.mount("/console", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
