"""The documents a training job exchanges through the store: spec.json (validated once, at the worker's
edge), progress.json and result.json as the worker writes them and the control plane reads them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from logsynergy.errors import ConfigError
from logsynergy.store import LocalStore
from logsynergy_contracts import JobFailed, JobKeys, JobProgress, TrainJobSpec, parse_result
from logsynergy_workers.job_progress import ProgressWriter, write_result


def spec_data(**changes: Any) -> dict[str, Any]:
    system = {"name": "cloud", "format": "jsonl", "datasets": [{"log_key": "t/a/datasets/cloud/1/log"}]}
    data: dict[str, Any] = {
        "job_id": "j1",
        "tenant": "a",
        "target": system,
        "options": {"target_labelled": 0, "epochs": 3, "overrides": {"hidden": 64}},
        "artifact_prefix": "t/a/models/cloud/j1/",
        "keys": {"prefix": "t/a/jobs/j1/"},
    }
    return data | changes


def test_a_spec_survives_the_trip_to_the_ray_worker_as_json_values() -> None:
    spec = TrainJobSpec.parse(spec_data())
    assert (
        spec.options.epochs == 3 and spec.options.preset == "cpu" and spec.options.overrides == {"hidden": 64}
    )
    assert spec.keys.result == "t/a/jobs/j1/result.json"
    assert TrainJobSpec.parse(spec.model_dump(mode="json")) == spec


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"options": {"epochs": None, "target_share": None}}, None),  # both may be null: no special case
        ({"options": {"epochs": "3"}}, "options.epochs: Input should be a valid integer"),
        ({"options": {"preset": "huge"}}, "preset: Input should be 'cpu' or 'paper'"),
        ({"options": {"overrides": {"epochs": 3}}}, "overrides cannot set epochs"),
        ({"options": {"nope": 1}}, "options.nope: Extra inputs are not permitted"),
        ({"sources": [spec_data()["target"]]}, "system names must be distinct"),
        ({"keys": {"prefix": "t/a/jobs/j1"}}, "keys.prefix: a job's prefix ends with '/'"),
        ({"target": {"name": "x", "format": "csv?", "datasets": [{"log_key": "k"}]}}, "unknown format"),
    ],
)
def test_a_bad_spec_is_one_config_error_naming_the_field(
    changes: dict[str, Any], message: str | None
) -> None:
    if message is None:
        assert TrainJobSpec.parse(spec_data(**changes)).options.epochs is None
        return
    with pytest.raises(ConfigError, match=r"^job spec: ") as error:
        TrainJobSpec.parse(spec_data(**changes))
    assert message in str(error.value)


def test_job_keys_beside_a_spec() -> None:
    assert JobKeys.beside("t/a/jobs/j1/spec.json") == JobKeys(prefix="t/a/jobs/j1/")
    assert JobKeys.beside("t/a/jobs/j1/other.json") is None


def test_progress_and_result_as_the_worker_writes_them(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    keys = JobKeys(prefix="jobs/j1/")
    said: list[str] = []
    progress = ProgressWriter(store, keys.progress, interval=3600, say=said.append)
    progress.stage("training", "training on cpu", epoch=0, epochs=2)
    written = JobProgress.model_validate(store.get_json(keys.progress))
    assert (written.stage, written.epoch, written.epochs, written.message) == (
        "training",
        0,
        2,
        "training on cpu",
    )
    with pytest.raises(ValueError, match="unknown stage"):
        progress.stage("retrying")  # the control plane's stage, not the worker's

    progress.epoch({"epoch": 1, "loss_cls": math.nan, "val_f1": 0.5}, 2)  # throttled: not written yet
    assert JobProgress.model_validate(store.get_json(keys.progress)).epoch == 0
    progress.fail("out of memory")
    written = JobProgress.model_validate(store.get_json(keys.progress))
    assert (written.epoch, written.loss, written.val_f1) == (1, None, 0.5)  # NaN is not JSON
    assert written.message == "failed: out of memory" and written.stage == "training"

    write_result(store, keys.result, JobFailed(error="out of memory", attempt="a1"))
    result = parse_result(store.get_json(keys.result))
    assert isinstance(result, JobFailed) and (result.error, result.attempt) == ("out of memory", "a1")
    with pytest.raises(ConfigError, match="job result: "):
        parse_result({"status": "succeeded", "artifact_prefix": "p/"})
    assert said == []
