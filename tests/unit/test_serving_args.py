"""The detection application's arguments: defaults, conversion of `serve run` strings, clear errors."""

from __future__ import annotations

import pydantic
import pytest

from logsynergy.errors import ConfigError
from logsynergy_workers.serving.args import ServeArgs


def test_defaults_and_string_arguments_are_converted():
    args = ServeArgs.parse({"pool_max_ongoing_requests": "4", "pool_num_cpus": "0.75"})
    assert args.pool_max_ongoing_requests == 4 and args.pool_num_cpus == 0.75
    defaults = ServeArgs.parse(None)
    assert defaults.pool_max_ongoing_requests == 0 and defaults.pool_max_ongoing == 64
    assert defaults.score_precision == "auto" and defaults.torch_threads == 1
    assert ServeArgs.parse({"score_precision": "float32", "max_lines": None}).max_lines == 200_000
    assert ServeArgs.parse({"score_precision": "float32"}).score_precision == "float32"
    assert ServeArgs.parse(defaults) is defaults


@pytest.mark.parametrize(
    ("given", "expected"),
    [(3, {"num_replicas": 3}), ('{"num_replicas": 2}', {"num_replicas": 2}), ({"min_replicas": 1}, None)],
)
def test_replica_settings_accept_counts_json_and_mappings(given: object, expected: dict | None):
    assert ServeArgs.parse({"ingress_replicas": given}).ingress_replicas == (expected or given)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"pool_max_ongoing_requests": -1}, "'pool_max_ongoing_requests': Input should be greater than or"),
        ({"pool_max_ongoing_requests": "many"}, "'pool_max_ongoing_requests': Input should be a valid int"),
        ({"pool_max_ongoing": 4}, "unknown serving arg 'pool_max_ongoing'"),
        ({"score_precision": "float8"}, "'score_precision': must be one of auto, float32, bfloat16"),
        ({"pool_autoscaling": "{min"}, "'pool_autoscaling': must be a JSON object"),
    ],
)
def test_bad_arguments_raise_config_errors_naming_the_arg(args: dict, words: str):
    with pytest.raises(ConfigError, match=words):
        ServeArgs.parse(args)


def test_ray_serve_validates_config_args_into_the_typed_builder():
    """What `serve run …:build_app key=value` and a config's `args` go through (no Ray started)."""
    from ray.serve import Application
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary

    from logsynergy_workers.serving.app import build_app

    app = call_user_app_builder_with_args_if_necessary(build_app, {"max_batch_size": "8"})
    assert isinstance(app, Application)
    with pytest.raises(pydantic.ValidationError, match="max_batch_size"):
        call_user_app_builder_with_args_if_necessary(build_app, {"max_batch_size": "0"})
