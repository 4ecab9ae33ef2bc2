"""The local platform of `logsynergy up`: a Ray head with its dashboard, the Serve app, API and scheduler."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

from logsynergy_api.settings import Settings
from logsynergy_workers.ray_env import apply_local_ray_env
from logsynergy_workers.serving.args import ServeArgs
from logsynergy_workers.serving.endpoint import direct_ingress_env

log = logging.getLogger(__name__)


def ray_environment(direct_ingress_port: int | None = None) -> None:
    """Keep Ray on 127.0.0.1 with one auth mode in every process (they inherit this environment); with
    a port, a Ray started here serves detection from the ingress replica on it (`serving.endpoint`)."""
    apply_local_ray_env(direct_ingress_env(direct_ingress_port) if direct_ingress_port else None)


@dataclass
class LocalRay:
    """A Ray head started in this process (dashboard and Jobs API on 127.0.0.1:`dashboard_port`)."""

    settings: Settings
    num_cpus: int | None = None
    temp_dir: str = field(default="", init=False)
    _saved_env: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def start(self) -> str:
        """Start Ray with this platform's environment (restored by `stop`: a process may start it twice)."""
        import ray

        settings = self.settings
        self._saved_env = dict(os.environ)
        ray_environment(settings.serve_port if settings.serve_direct_ingress else None)
        self.temp_dir = tempfile.mkdtemp(prefix="lsray-", dir="/tmp")
        os.environ["RAY_TMPDIR"] = self.temp_dir
        ray.init(
            num_cpus=self.num_cpus or os.cpu_count() or 1,
            include_dashboard=True,
            dashboard_host="127.0.0.1",
            dashboard_port=self.settings.dashboard_port,
            _temp_dir=self.temp_dir,
            runtime_env={"env_vars": self.settings.worker_env()},
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
        return f"http://127.0.0.1:{self.settings.dashboard_port}"

    def stop(self) -> None:
        import ray

        ray.shutdown()
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        if self._saved_env:
            os.environ.clear()
            os.environ.update(self._saved_env)


def serve_args(settings: Settings) -> ServeArgs:
    """The detection app's arguments on a local platform."""
    return ServeArgs(routes_ttl_s=1.0)


def deploy_serving(settings: Settings) -> bool:
    """Start Ray Serve and deploy the detection app on 127.0.0.1:SERVE_PORT; False if it is not built."""
    try:
        from logsynergy_workers.serving.app import build_app  # noqa: F401  (the app's own imports)
        from logsynergy_workers.serving.endpoint import start_detection
    except ImportError as error:
        log.warning("detection service not available: %s", error)
        return False
    endpoint = start_detection(serve_args(settings), "127.0.0.1", settings.serve_port)
    log.info(
        "detection on %s (direct ingress: %s; Serve's proxy: %s)",
        endpoint.url,
        endpoint.direct,
        endpoint.proxy_url,
    )
    return True


def run_local(
    settings: Settings,
    *,
    say: Callable[[str], None] = print,
    num_cpus: int | None = None,
    serving: bool = True,
) -> None:
    """Run the whole local platform until SIGINT/SIGTERM; stop everything it started."""
    import uvicorn

    from logsynergy_api.context import Platform
    from logsynergy_api.main import bootstrap, create_app
    from logsynergy_workers.launcher import RayJobLauncher

    cluster = LocalRay(settings, num_cpus=num_cpus)
    dashboard = cluster.start()
    try:
        say(f"Ray dashboard     {dashboard}")
        if serving and deploy_serving(settings):
            say(f"detection         {settings.detect_url}/v1/detect/{{system}}")
        platform = Platform.build(settings, RayJobLauncher(dashboard, settings.worker_python))
        generated = bootstrap(platform)
        if generated:
            say(f"admin API key     {generated}   (shown once; set LOGSYNERGY_BOOTSTRAP_API_KEY to fix it)")
        say(f"API docs          http://{settings.api_host}:{settings.api_port}/docs")
        app = create_app(platform)
        uvicorn.Server(
            uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="warning")
        ).run()
    finally:
        say("stopping the local platform")
        if serving:
            try:
                from ray import serve

                serve.shutdown()
            except Exception as error:  # already down
                log.debug("serve shutdown: %s", error)
        cluster.stop()
