"""`logsynergy demo`: train a new system's detector from two mature ones, then judge its unseen logs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import yaml

from logsynergy.detector import Detector
from logsynergy.options import Runtime, TrainOptions
from logsynergy.pipeline import train_systems
from logsynergy.prepare import Say
from logsynergy.report import detection_summary, render_report
from logsynergy.systems import SystemSpec, load_systems

DEFAULT_DATASETS = Path(os.environ.get("LOGSYNERGY_DATASETS", "../shared/datasets"))


def real_systems(datasets: Path, out: Path) -> Path | None:
    """A systems.yaml over the shared public datasets, or None when they are not there."""
    needed = {
        "hdfs": datasets / "hdfs/loglead_2pct/hdfs_events_2percent.csv.gz",
        "openstack": datasets / "openstack/nova_fault_injection/openstack-nova-sample.log",
        "bgl": datasets / "bgl/alert_slice_2005-11-21/BGL_2005-11-21_slice.log",
    }
    if not all(p.is_file() for p in needed.values()):
        return None
    interpretations = datasets.parent / "interpretations"
    systems = [
        {
            "name": "hdfs",
            "format": "hdfs",
            "path": str(needed["hdfs"].resolve()),
            "labels": str((datasets / "hdfs/loglead_2pct/hdfs_seqs_2percent_labels.csv").resolve()),
            "description": "Hadoop distributed file system: name node and data nodes storing blocks",
        },
        {
            "name": "openstack",
            "format": "openstack",
            "path": str(needed["openstack"].resolve()),
            "labels": str(
                next((datasets / "openstack/nova_fault_injection").glob("instance_labels*.csv")).resolve()
            ),
            "description": "OpenStack nova compute service managing virtual machine instances",
        },
        {
            "name": "bgl",
            "format": "bgl",
            "path": str(needed["bgl"].resolve()),
            "description": "IBM BlueGene/L supercomputer: kernel, network and hardware events of nodes",
        },
    ]
    for system in systems:
        file = interpretations / f"{system['name']}.jsonl"
        if file.is_file():
            system["interpretations"] = str(file.resolve())
    out.mkdir(parents=True, exist_ok=True)
    path = out / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": systems}, sort_keys=False))
    return path


def synthetic_systems(out: Path) -> Path:
    from logsynergy.synthetic import write_demo_systems

    return write_demo_systems(out / "synthetic", n_lines=20000, seed=7)


def demo_systems(
    work_dir: Path, datasets: Path | None, force_synthetic: bool, say: Say
) -> tuple[dict[str, SystemSpec], str, list[str]]:
    """The demo's systems (the shared datasets, else synthetic ones), its target and two sources."""
    work_dir.mkdir(parents=True, exist_ok=True)
    systems_file = None if force_synthetic else real_systems(datasets or DEFAULT_DATASETS, work_dir / "real")
    if systems_file is None:
        say("Real datasets not found (or not wanted): generating synthetic systems with injected faults.")
        systems_file = synthetic_systems(work_dir)
    specs = load_systems(systems_file)
    names = list(specs)
    return specs, names[-1], names[:2] if len(names) > 2 else names[:-1]


def run_demo(
    work_dir: Path, *, datasets: Path | None = None, force_synthetic: bool = False, say: Say = print
) -> dict:
    """The main job end to end on one machine; returns the target's detection summary."""
    started = time.perf_counter()
    specs, target_name, source_names = demo_systems(work_dir, datasets, force_synthetic, say)
    say(f"Target (new system): {target_name}; sources (mature systems): {', '.join(source_names)}")
    # at most half the target's windows are labelled (TrainOptions.max_train_fraction), the rest is unseen
    options = TrainOptions(target_labelled=1000)
    runtime = Runtime(show_bars=sys.stderr.isatty())
    sources = [specs[n] for n in source_names]
    artifact = work_dir / "detector"
    result = train_systems(specs[target_name], sources, options, runtime=runtime, out=artifact, say=say)
    m, target = result.metrics, result.target
    say(
        f"Validation-calibrated threshold {m.threshold:.3f}; test F1 {m.f1:.3f} "
        f"(precision {m.precision:.3f}, recall {m.recall:.3f}) on {m.test_windows} later windows"
    )
    detector = Detector.load(artifact)
    cut = max(max(w.lines) for w in target.windows[: m.target_train_windows])
    unseen = [r for r in target.log.records if r.line_no > cut]
    target.log.label_records_by_session(unseen)
    detection = detector.score_records(unseen)
    summary = detection_summary(detection)
    say(
        f"\nDetector reloaded from {artifact} judged {summary['lines']:,} unseen lines in "
        f"{summary['windows']:,} windows: {summary['anomalous_windows']:,} anomalous, "
        f"{summary['new_templates']} new templates"
        + (f", F1 {summary['f1']:.3f} on the known labels" if "f1" in summary else "")
    )
    for report in detection.reports[:3]:
        say(render_report(report, max_events=4))
    say(f"\nDone in {time.perf_counter() - started:.0f}s. Detector: {artifact}")
    return summary
