"""The `logsynergy` command line: train, detect, interpretations, generate, demo.

`add_core_commands` registers these commands on a given Typer app (this module's `app`, or the platform's
`logsynergy`, which adds its own); `run` runs an app with clean error handling."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from logsynergy.bench_loop.settings import DEFAULT_LOOP, LoopSettings
from logsynergy.errors import LogSynergyError
from logsynergy.options import DEFAULT_OPTIONS

interpretations_app = typer.Typer(
    no_args_is_help=True, help="Review, export and import event interpretations (LEI)."
)
console = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def train(
    systems: Annotated[Path, typer.Option(help="systems.yaml listing every system's log")],
    target: Annotated[str, typer.Option(help="name of the new system to build a detector for")],
    out_dir: Annotated[Path, typer.Option("--out", help="artifact directory to write")],
    sources: Annotated[
        str | None, typer.Option(help="comma-separated source systems (default: all others)")
    ] = None,
    target_labelled: Annotated[
        int, typer.Option(help="labelled target windows, from the earliest part")
    ] = DEFAULT_OPTIONS.target_labelled,
    source_windows: Annotated[
        int, typer.Option(help="windows per source system at most")
    ] = DEFAULT_OPTIONS.source_windows,
    preset: Annotated[str, typer.Option(help="model preset: cpu or paper")] = DEFAULT_OPTIONS.preset,
    epochs: Annotated[int | None, typer.Option(help="override the preset's epochs")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = DEFAULT_OPTIONS.seed,
    device: Annotated[
        str | None, typer.Option(help="torch device (default: cuda if present, else cpu)")
    ] = None,
    feedback: Annotated[
        Path | None, typer.Option(help="JSONL of operators' judged target windows, extra target labels")
    ] = None,
) -> None:
    """Train a detector for TARGET from the other systems and write it with metrics.json."""
    from logsynergy.options import Runtime, TrainOptions
    from logsynergy.pipeline import train as run_train

    options = TrainOptions(
        preset=preset,
        target_labelled=target_labelled,
        source_windows=source_windows,
        epochs=epochs,
        seed=seed,
    )
    names = [s.strip() for s in sources.split(",") if s.strip()] if sources else None

    def progress(record: dict[str, float]) -> None:
        extra = f" val_f1={record['val_f1']:.3f}" if "val_f1" in record else ""
        losses = " ".join(f"{k[5:]}={v:.3f}" for k, v in record.items() if k.startswith("loss_"))
        console.print(f"  epoch {int(record['epoch'])}: {losses}{extra}", highlight=False)

    result = run_train(
        systems,
        target,
        sources=names,
        options=options,
        feedback=feedback,
        runtime=Runtime(device=device, show_bars=sys.stderr.isatty()),
        out=out_dir,
        say=lambda m: console.print(m, highlight=False),
        progress=progress,
    )
    m = result.metrics
    out.print(
        f"{target}: {m.summary()}  on {m.test_windows} test windows "
        f"({m.test_anomalies} anomalous); trained in {m.train_seconds:.1f}s",
        highlight=False,
    )
    out.print(f"detector written to {out_dir}", highlight=False)


def detect(
    artifact: Annotated[Path, typer.Argument(help="detector artifact directory")],
    log_file: Annotated[Path, typer.Argument(help="log file to score")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="log format (default: the training format)")
    ] = None,
    labels: Annotated[Path | None, typer.Option(help="optional labels file, to print F1")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
    max_reports: Annotated[int, typer.Option(help="anomaly reports to print")] = 5,
) -> None:
    """Score a log file and print anomaly reports."""
    from logsynergy.pipeline import detect_file
    from logsynergy.report import detection_summary, render_report

    detection = detect_file(artifact, log_file, fmt, labels)
    summary = detection_summary(detection)
    if as_json:
        out.print_json(json.dumps({"summary": summary, "reports": detection.reports[:max_reports]}))
        return
    out.print(
        f"{summary['windows']} windows, {summary['anomalous_windows']} anomalous, "
        f"{summary['new_templates']} new templates"
        + (f"; F1 {summary['f1']:.3f} on the given labels" if "f1" in summary else ""),
        highlight=False,
    )
    for report in detection.reports[:max_reports]:
        out.print(render_report(report), highlight=False)


@interpretations_app.command("export")
def interpretations_export(
    source: Annotated[Path, typer.Argument(help="detector artifact directory, or a systems.yaml")],
    file: Annotated[Path, typer.Argument(help="JSONL file to write")],
    system: Annotated[str | None, typer.Option(help="system to interpret (SOURCE a systems.yaml)")] = None,
) -> None:
    """Write interpretations as JSONL (template, example, interpretation) for review."""
    from logsynergy.interpret_ops import export_interpretations

    count = export_interpretations(source, file, system)
    out.print(f"{count} interpretations written to {file}", highlight=False)


@interpretations_app.command("import")
def interpretations_import(
    artifact: Annotated[Path, typer.Argument(help="detector artifact directory")],
    file: Annotated[Path, typer.Argument(help="JSONL of reviewed or externally made interpretations")],
) -> None:
    """Replace a detector's interpretations with reviewed ones; changed ones are re-embedded."""
    from logsynergy.interpret_ops import import_interpretations

    changed = import_interpretations(artifact, file)
    out.print(f"{changed} interpretations updated in {artifact}", highlight=False)


def bench(
    config: Annotated[Path, typer.Option(help="bench.yaml: systems, experiments, seeds, methods")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory for results.json, results.md, plots")],
) -> None:
    """Every method side by side on identical splits; writes results.json, results.md and PNG plots."""
    from logsynergy.bench.config import load_bench
    from logsynergy.bench.runner import run_bench

    run_bench(load_bench(config), out_dir, say=lambda m: console.print(m, highlight=False, soft_wrap=True))
    out.print((out_dir / "results.md").read_text(), highlight=False, soft_wrap=True)


def bench_loop(
    out_dir: Annotated[Path, typer.Option("--out", help="directory for curves.json/.csv, results.md, plot")],
    systems: Annotated[Path, typer.Option(help="systems.yaml of labelled systems")] = Path(
        "examples/shared-systems.yaml"
    ),
    targets: Annotated[str | None, typer.Option(help="comma-separated targets (default: all)")] = None,
    chunks: Annotated[int, typer.Option(help="chunks of the streamed part; chunk 0 onboards")] = (
        DEFAULT_LOOP.chunks
    ),
    per_round: Annotated[
        int, typer.Option(help="incidents the operator judges after each chunk")
    ] = DEFAULT_LOOP.per_round,
    stream_fraction: Annotated[
        float, typer.Option(help="share of each target's windows streamed")
    ] = DEFAULT_LOOP.stream_fraction,
    epochs: Annotated[int, typer.Option(help="training epochs")] = DEFAULT_LOOP.epochs,
    seed: Annotated[int, typer.Option(help="random seed")] = DEFAULT_LOOP.seed,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: every core)")] = None,
) -> None:
    """The operator loop, measured: zero target labels, stream, judge incidents, retrain; F1 per round."""
    from logsynergy.bench_loop.report import markdown
    from logsynergy.bench_loop.runner import run_bench_loop

    settings = LoopSettings.parse(
        chunks=chunks, per_round=per_round, stream_fraction=stream_fraction, epochs=epochs, seed=seed
    )
    names = [t.strip() for t in targets.split(",") if t.strip()] if targets else None

    def say(message: str) -> None:
        console.print(message, highlight=False, soft_wrap=True)

    result = run_bench_loop(systems, out_dir, settings, targets=names, threads=threads, say=say)
    out.print(markdown(result), highlight=False, soft_wrap=True)


def generate(
    out_dir: Annotated[Path, typer.Argument(help="directory for the synthetic systems and systems.yaml")],
    lines: Annotated[int, typer.Option(help="lines per system")] = 20000,
    seed: Annotated[int, typer.Option(help="random seed")] = DEFAULT_OPTIONS.seed,
) -> None:
    """Write synthetic multi-system logs with injected faults, and their systems.yaml."""
    from logsynergy.synthetic import write_demo_systems

    path = write_demo_systems(out_dir, n_lines=lines, seed=seed)
    out.print(f"systems written to {path}", highlight=False)


def demo(
    work_dir: Annotated[Path, typer.Option(help="where the demo writes its data and detector")] = Path(
        ".demo"
    ),
    datasets: Annotated[
        Path | None, typer.Option(help="shared datasets folder (default ../shared/datasets)")
    ] = None,
    synthetic: Annotated[
        bool, typer.Option(help="use synthetic logs even when real ones are present")
    ] = False,
) -> None:
    """Train a detector for a new system from two mature ones, then detect on its unseen logs."""
    from logsynergy.demo import run_demo

    run_demo(
        work_dir,
        datasets=datasets,
        force_synthetic=synthetic,
        say=lambda m: out.print(m, highlight=False, soft_wrap=True),
    )


def new_app() -> typer.Typer:
    """An empty `logsynergy` command line: its help and options, no commands yet."""
    return typer.Typer(
        add_completion=False, no_args_is_help=True, help="Log anomaly detection for new systems, by transfer."
    )


def add_core_commands(cli: typer.Typer, *, with_demo: bool = True) -> typer.Typer:
    """Register the core commands on `cli` (`demo` unless `with_demo` is False) and return it."""
    for command in (train, detect, bench, bench_loop, generate, *([demo] if with_demo else [])):
        cli.command()(command)
    cli.add_typer(interpretations_app, name="interpretations")
    return cli


app = add_core_commands(new_app())


def run(cli: typer.Typer) -> None:
    """Run `cli` as the console command: domain errors become one clear line and exit code 2, never a
    traceback."""
    try:
        cli(standalone_mode=False)
    except LogSynergyError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # click's usage errors (typer ships its own copy of click, so match by behaviour, not class)
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        raise


def main() -> None:
    """Console entry point of the core commands."""
    run(app)


if __name__ == "__main__":
    main()
