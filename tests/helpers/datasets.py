"""Samples of ../shared/datasets that several tests load the same way."""

from __future__ import annotations

from pathlib import Path

from logsynergy.loaders import load_log
from logsynergy.records import LoadedLog


def load_nova_sample(shared_datasets: Path) -> LoadedLog:
    """The OpenStack nova fault-injection log with its per-instance labels."""
    folder = shared_datasets / "openstack/nova_fault_injection"
    labels = folder / "instance_labels_20k+4kdestroy+10kundefined+4kdhcp.csv"
    return load_log("openstack", folder / "openstack-nova-sample.log", labels)
