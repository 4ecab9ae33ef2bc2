"""The detection application's arguments: defaults, conversion of `serve run` strings, clear errors."""

from __future__ import annotations

import pytest

from logsynergy.errors import ConfigError
from logsynergy_workers.serving.app import DEFAULTS, serving_args


def test_defaults_and_string_arguments_are_converted():
    args = serving_args({"pool_max_ongoing_requests": "4", "pool_num_cpus": "0.75"})
    assert args["pool_max_ongoing_requests"] == 4 and args["pool_num_cpus"] == 0.75
    assert serving_args(None)["pool_max_ongoing_requests"] == DEFAULTS["pool_max_ongoing_requests"] == 0
    assert serving_args(None)["score_precision"] == "auto"
    assert serving_args({"score_precision": "float32"})["score_precision"] == "float32"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"pool_max_ongoing_requests": -1}, "at least 0"),
        ({"pool_max_ongoing_requests": "many"}, "must be a number"),
        ({"pool_max_ongoing": 4}, "unknown serving arg"),
        ({"score_precision": "float8"}, "must be one of auto, float32, bfloat16"),
    ],
)
def test_bad_arguments_raise_config_errors(args: dict, words: str):
    with pytest.raises(ConfigError, match=words):
        serving_args(args)
