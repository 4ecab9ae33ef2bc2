"""Baseline methods evaluated on the same windows and target splits as LogSynergy."""

from logsynergy.baselines.logtransfer import fit_logtransfer
from logsynergy.baselines.result import BaselineResult

__all__ = ["BaselineResult", "fit_logtransfer"]
