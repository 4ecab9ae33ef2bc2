"""The full `logsynergy` command: the core commands plus the platform (`up`, `api`) and its API clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from logsynergy.cli import add_core_commands, console, new_app, out, run
from logsynergy.errors import LogSynergyError
from logsynergy.options import DEFAULT_OPTIONS
from logsynergy_api.client import PlatformClient
from logsynergy_contracts import Verdict

# The core commands, except its in-process `demo`: `demo` here is the whole platform (--in-process runs
# the core's). The platform's own commands and groups follow.
app = add_core_commands(new_app(), with_demo=False)

systems_app = typer.Typer(no_args_is_help=True, help="Systems of your tenant (through the API).")
datasets_app = typer.Typer(no_args_is_help=True, help="Datasets of a system (through the API).")
jobs_app = typer.Typer(no_args_is_help=True, help="Training jobs (through the API).")
models_app = typer.Typer(no_args_is_help=True, help="Model versions of a system (through the API).")
anomalies_app = typer.Typer(
    no_args_is_help=True,
    help="Windows the detection endpoint flagged, and their judgements (through the API).",
)
incidents_app = typer.Typer(
    no_args_is_help=True,
    help="Anomalies grouped by template pattern, and their judgements (through the API).",
)
for sub, name in (
    (systems_app, "systems"),
    (datasets_app, "datasets"),
    (jobs_app, "jobs"),
    (models_app, "models"),
    (anomalies_app, "anomalies"),
    (incidents_app, "incidents"),
):
    app.add_typer(sub, name=name)

Url = Annotated[str | None, typer.Option("--url", help="API URL (env LOGSYNERGY_API_URL)")]
Key = Annotated[str | None, typer.Option("--key", help="API key (env LOGSYNERGY_API_KEY)")]
Status = Annotated[str | None, typer.Option(help="open, anomaly or not_anomaly")]
Limit = Annotated[int, typer.Option(help="page size")]
Offset = Annotated[int, typer.Option(help="rows to skip")]
Note = Annotated[str | None, typer.Option(help="why (kept with the verdict)")]
Clear = Annotated[bool, typer.Option("--clear", help="take the judgement back instead")]


def show(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


@app.command()
def up(
    cpus: Annotated[int | None, typer.Option(help="CPUs the local Ray may use (default: all)")] = None,
    no_serving: Annotated[
        bool, typer.Option("--no-serving", help="do not deploy the detection service")
    ] = False,
) -> None:
    """Run the local platform (Ray head + dashboard, detection service, API, scheduler) until Ctrl-C."""
    from logsynergy_api.local import run_local
    from logsynergy_api.settings import get_settings

    run_local(
        get_settings(), num_cpus=cpus, serving=not no_serving, say=lambda m: out.print(m, highlight=False)
    )


@app.command("api")
def api_server() -> None:
    """Run the API and scheduler against a Ray cluster (LOGSYNERGY_RAY_ADDRESS): what the Helm chart runs."""
    import uvicorn

    from logsynergy.errors import ConfigError
    from logsynergy_api.context import Platform
    from logsynergy_api.local import ray_environment
    from logsynergy_api.main import bootstrap, create_app
    from logsynergy_api.settings import get_settings
    from logsynergy_workers.launcher import RayJobLauncher

    settings = get_settings()
    if not settings.ray_address:
        raise ConfigError(
            "set LOGSYNERGY_RAY_ADDRESS to the Ray dashboard URL, or run `logsynergy up` locally"
        )
    ray_environment()
    platform = Platform.build(settings, RayJobLauncher(settings.ray_address, settings.worker_python))
    generated = bootstrap(platform)
    if generated:
        console.print(f"admin API key (shown once): {generated}")
    uvicorn.run(create_app(platform), host=settings.api_host, port=settings.api_port)


@app.command()
def demo(
    work_dir: Annotated[Path, typer.Option(help="where the demo keeps its data")] = Path(".demo"),
    datasets: Annotated[
        Path | None, typer.Option(help="shared datasets (default ../shared/datasets)")
    ] = None,
    synthetic: Annotated[
        bool, typer.Option(help="use synthetic logs even when real ones are present")
    ] = False,
    keep: Annotated[
        bool, typer.Option(help="leave the platform running at the end (Ctrl-C stops it)")
    ] = False,
    in_process: Annotated[bool, typer.Option(help="the core library alone, no platform")] = False,
) -> None:
    """The whole product end to end: local platform, onboarding, training job, detection endpoint."""
    say = lambda m: out.print(m, highlight=False, soft_wrap=True)  # noqa: E731
    if in_process:
        from logsynergy.demo import run_demo

        run_demo(work_dir, datasets=datasets, force_synthetic=synthetic, say=say)
        return
    from logsynergy_api.demo import run_platform_demo

    run_platform_demo(work_dir, datasets=datasets, force_synthetic=synthetic, keep=keep, say=say)


@systems_app.command("list")
def systems_list(url: Url = None, key: Key = None) -> None:
    show(PlatformClient(url, key).request("GET", "/v1/systems"))


@systems_app.command("create")
def systems_create(
    name: str,
    fmt: Annotated[str, typer.Option("--format", help="log format")],
    role: Annotated[str, typer.Option(help="source or target")] = "target",
    description: Annotated[str, typer.Option(help="one line; goes into the LEI prompt")] = "",
    url: Url = None,
    key: Key = None,
) -> None:
    show(PlatformClient(url, key).create_system(name, fmt, role, description))


@systems_app.command("set")
def systems_set(
    name: str,
    retrain_after_judgements: Annotated[
        int | None, typer.Option(help="queue a training job after this many new judgements", min=1)
    ] = None,
    no_retrain: Annotated[bool, typer.Option(help="stop retraining by judgements")] = False,
    auto_activate: Annotated[
        bool | None, typer.Option("--auto-activate/--no-auto-activate", help="activate new versions")
    ] = None,
    description: Annotated[str | None, typer.Option(help="one line; goes into the LEI prompt")] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    """Change a system's settings; those not given stay as they are."""
    body: dict[str, object] = {}
    if retrain_after_judgements is not None and no_retrain:
        raise LogSynergyError("give --retrain-after-judgements N or --no-retrain, not both")
    if retrain_after_judgements is not None or no_retrain:
        body["retrain_after_judgements"] = retrain_after_judgements
    if auto_activate is not None:
        body["auto_activate"] = auto_activate
    if description is not None:
        body["description"] = description
    show(PlatformClient(url, key).request("PATCH", f"/v1/systems/{name}", json=body))


@systems_app.command("delete")
def systems_delete(name: str, url: Url = None, key: Key = None) -> None:
    PlatformClient(url, key).request("DELETE", f"/v1/systems/{name}")
    out.print(f"deleted {name}")


@datasets_app.command("upload")
def datasets_upload(
    system: str,
    log: Path,
    labels: Annotated[Path | None, typer.Option()] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    show(PlatformClient(url, key).upload(system, log, labels))


@datasets_app.command("list")
def datasets_list(system: str, url: Url = None, key: Key = None) -> None:
    show(PlatformClient(url, key).request("GET", f"/v1/systems/{system}/datasets"))


@app.command()
def onboard(
    name: str,
    fmt: Annotated[str, typer.Option("--format", help="log format")],
    log: Annotated[Path, typer.Option(help="log file to upload")],
    labels: Annotated[Path | None, typer.Option(help="labels file (hdfs, openstack)")] = None,
    description: Annotated[str, typer.Option(help="one line; goes into the LEI prompt")] = "",
    sources: Annotated[str | None, typer.Option(help="comma-separated sources (default: automatic)")] = None,
    target_labelled: Annotated[
        int, typer.Option(help="labelled windows to use; 0 for none")
    ] = DEFAULT_OPTIONS.target_labelled,
    wait: Annotated[bool, typer.Option(help="follow the job to its end")] = True,
    url: Url = None,
    key: Key = None,
) -> None:
    """Create a target system, upload its log and start its training job, in one go."""
    client = PlatformClient(url, key)
    client.create_system(name, fmt, "target", description)
    dataset = client.upload(name, log, labels)
    out.print(f"uploaded {dataset['lines']:,} lines ({dataset['windows']:,} windows) to {name}")
    chosen = sources.split(",") if sources else None
    job = client.create_job(name, sources=chosen, target_labelled=target_labelled)
    out.print(f"job {job['id']} queued; sources: {', '.join(job['sources'])}")
    if wait:
        _follow(client, job["id"])


def _follow(client: PlatformClient, job_id: str) -> None:
    last: list[str] = [""]

    def progress(job: dict) -> None:
        p = job.get("progress") or {}
        line = f"{job['status']:9} {p.get('stage', '')} epoch {p.get('epoch', '-')}/{p.get('epochs', '-')}"
        if p.get("val_f1") is not None:
            line += f" val F1 {p['val_f1']:.3f}"
        if line != last[0]:
            out.print(line, highlight=False)
            last[0] = line

    job = client.wait_job(job_id, on_progress=progress)
    show({k: job[k] for k in ("id", "status", "model_version", "metrics", "error")})


@jobs_app.command("list")
def jobs_list(status: Annotated[str | None, typer.Option()] = None, url: Url = None, key: Key = None) -> None:
    show(PlatformClient(url, key).request("GET", "/v1/jobs", params={"status": status} if status else None))


@jobs_app.command("create")
def jobs_create(
    target: str,
    sources: Annotated[str | None, typer.Option(help="comma-separated (default: automatic)")] = None,
    target_labelled: Annotated[int, typer.Option()] = DEFAULT_OPTIONS.target_labelled,
    preset: Annotated[str, typer.Option()] = DEFAULT_OPTIONS.preset,
    priority: Annotated[int, typer.Option()] = 0,
    wait: Annotated[bool, typer.Option(help="follow the job to its end")] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    client = PlatformClient(url, key)
    chosen = sources.split(",") if sources else None
    job = client.create_job(
        target, sources=chosen, target_labelled=target_labelled, preset=preset, priority=priority
    )
    show(job)
    if wait:
        _follow(client, job["id"])


@jobs_app.command("show")
def jobs_show(job_id: str, url: Url = None, key: Key = None) -> None:
    show(PlatformClient(url, key).request("GET", f"/v1/jobs/{job_id}"))


@jobs_app.command("cancel")
def jobs_cancel(job_id: str, url: Url = None, key: Key = None) -> None:
    show(PlatformClient(url, key).request("POST", f"/v1/jobs/{job_id}/cancel"))


@jobs_app.command("logs")
def jobs_logs(job_id: str, url: Url = None, key: Key = None) -> None:
    out.print(PlatformClient(url, key).request("GET", f"/v1/jobs/{job_id}/logs"), highlight=False)


@models_app.command("list")
def models_list(system: str, url: Url = None, key: Key = None) -> None:
    show(PlatformClient(url, key).request("GET", f"/v1/systems/{system}/models"))


@models_app.command("activate")
def models_activate(system: str, version: int, url: Url = None, key: Key = None) -> None:
    show(PlatformClient(url, key).request("POST", f"/v1/systems/{system}/models/{version}/activate"))


def _params(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _verdict(verdict: Verdict | None, clear: bool) -> str | None:
    if clear == (verdict is not None):
        raise LogSynergyError("give a verdict (anomaly or not_anomaly) or --clear, not both")
    return verdict.value if verdict else None


@anomalies_app.command("list")
def anomalies_list(
    system: str,
    since: Annotated[str | None, typer.Option(help="received at or after (ISO-8601, UTC if no zone)")] = None,
    until: Annotated[str | None, typer.Option(help="received before (ISO-8601)")] = None,
    status: Status = None,
    min_score: Annotated[float | None, typer.Option()] = None,
    version: Annotated[int | None, typer.Option(help="model version that flagged them")] = None,
    incident: Annotated[int | None, typer.Option(help="incident id")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    url: Url = None,
    key: Key = None,
) -> None:
    """The system's anomalies, newest first."""
    params = _params(
        since=since,
        until=until,
        status=status,
        min_score=min_score,
        version=version,
        incident=incident,
        limit=limit,
        offset=offset,
    )
    show(PlatformClient(url, key).request("GET", f"/v1/systems/{system}/anomalies", params=params))


@anomalies_app.command("show")
def anomalies_show(system: str, anomaly_id: int, url: Url = None, key: Key = None) -> None:
    """One anomaly with its window's lines, templates and interpretations."""
    show(PlatformClient(url, key).request("GET", f"/v1/systems/{system}/anomalies/{anomaly_id}"))


@anomalies_app.command("judge")
def anomalies_judge(
    system: str,
    anomaly_id: int,
    verdict: Annotated[Verdict | None, typer.Argument()] = None,
    note: Note = None,
    clear: Clear = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Judge one window: anomaly or not_anomaly (not_anomaly also stops its pattern alarming)."""
    judged = PlatformClient(url, key).judge(system, "anomalies", anomaly_id, _verdict(verdict, clear), note)
    if judged is None:
        out.print(f"judgement of anomaly {anomaly_id} taken back")
    else:
        show(judged)


@incidents_app.command("list")
def incidents_list(
    system: str,
    status: Status = None,
    order: Annotated[str, typer.Option(help="last_seen, max_score or count (descending)")] = "last_seen",
    limit: Limit = 100,
    offset: Offset = 0,
    url: Url = None,
    key: Key = None,
) -> None:
    """The system's incidents (anomalies grouped by template pattern)."""
    params = _params(status=status, order=order, limit=limit, offset=offset)
    show(PlatformClient(url, key).request("GET", f"/v1/systems/{system}/incidents", params=params))


@incidents_app.command("judge")
def incidents_judge(
    system: str,
    incident_id: int,
    verdict: Annotated[Verdict | None, typer.Argument()] = None,
    note: Note = None,
    clear: Clear = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Judge a pattern: not_anomaly stops it alarming at once; its windows take the verdict."""
    judged = PlatformClient(url, key).judge(system, "incidents", incident_id, _verdict(verdict, clear), note)
    if judged is None:
        out.print(f"judgement of incident {incident_id} taken back")
    else:
        show(judged)


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
