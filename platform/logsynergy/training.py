"""The training loop: joint losses, CLUB fitted on its own, DAAN ω per epoch, model selection on
held-out target windows and a max-F1 threshold."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from logsynergy.metrics import best_threshold
from logsynergy.model import LogSynergyNet, ModelConfig, NetOutput
from logsynergy.model.daan import grl_coefficient
from logsynergy.windowset import WindowSet

ProgressCallback = Callable[[dict[str, float]], None]


@dataclass
class TrainResult:
    model: LogSynergyNet
    threshold: float
    best_epoch: int
    val_f1: float
    calibrated: bool
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def batch_tensors(
    table: torch.Tensor, data: WindowSet, rows: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather the event embeddings of some rows: ([B, L, E], mask [B, L])."""
    index = torch.from_numpy(data.index[rows]).to(device)
    width = int((index != 0).sum(1).max().item()) if len(rows) else 1
    index = index[:, : max(1, width)]
    mask = index != 0
    mask[:, 0] = True  # an all-padding row still gets one (zero) event to attend to
    return table[index], mask


@torch.inference_mode()
def predict(model: LogSynergyNet, table: torch.Tensor, data: WindowSet, batch_size: int = 2048) -> np.ndarray:
    """Anomaly probabilities for every row of a WindowSet."""
    model.eval()
    device = table.device
    out = np.empty(len(data), np.float32)
    for start in range(0, len(data), batch_size):
        rows = np.arange(start, min(len(data), start + batch_size))
        events, mask = batch_tensors(table, data, rows, device)
        out[rows] = torch.sigmoid(model(events, mask).anomaly_logit.float()).cpu().numpy()
    return out


def _losses(
    model: LogSynergyNet,
    events: torch.Tensor,
    mask: torch.Tensor,
    batch: dict[str, torch.Tensor],
    coeff: float,
) -> tuple[torch.Tensor, dict[str, float], NetOutput]:
    config = model.config
    out = model(events, mask)
    weight = batch["weight"]
    labelled = batch["label"] >= 0
    parts: dict[str, torch.Tensor] = {}
    if labelled.any():
        w = weight[labelled]
        parts["anomaly"] = (
            F.binary_cross_entropy_with_logits(
                out.anomaly_logit[labelled].float(), batch["label"][labelled], reduction="none"
            )
            * w
        ).sum() / w.sum()
    if out.system_logit is not None and model.club is not None and out.specific is not None:
        ce = F.cross_entropy(out.system_logit.float(), batch["system"], reduction="none")
        parts["system"] = config.lambda_system * (ce * weight).sum() / weight.sum()
        parts["mi"] = config.lambda_mi * model.club.upper_bound(out.unified.float(), out.specific.float())
    domains = batch["domain"]
    if model.daan is not None and bool((domains == 0).any()) and bool((domains == 1).any()):
        parts["da"] = config.lambda_da * model.daan(
            out.unified.float(), out.anomaly_logit.float(), domains, weight, coeff
        )
    total = sum(parts.values(), torch.zeros((), device=events.device))
    return total, {k: float(v.detach()) for k, v in parts.items()}, out


def train_model(
    config: ModelConfig,
    table: torch.Tensor,
    train: WindowSet,
    val: WindowSet | None,
    *,
    seed: int = 0,
    device: str | None = None,
    progress: ProgressCallback | None = None,
    show_bars: bool = True,
) -> TrainResult:
    """Train on `train`, choose the epoch and threshold on `val` (max F1, the last epoch among ties;
    the last epoch and 0.5 when `val` has no anomaly)."""
    started = time.perf_counter()
    seed_everything(seed)
    dev = pick_device(device)
    table = table.to(dev)
    model = LogSynergyNet(config).to(dev)
    optimiser = torch.optim.AdamW(model.backbone_parameters(), lr=config.lr, weight_decay=config.weight_decay)
    club_optimiser = (
        torch.optim.Adam(model.club.parameters(), lr=config.lr) if model.club is not None else None
    )
    # few unique patterns must still get enough optimiser steps: an epoch then repeats the data
    steps_per_epoch = max(
        1, math.ceil(len(train) / config.batch_size), math.ceil(config.min_steps / config.epochs)
    )
    total_steps = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=total_steps, pct_start=0.1, anneal_strategy="cos"
    )
    use_amp = dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    generator = np.random.default_rng(seed)
    tensors = {
        "label": torch.from_numpy(train.label).to(dev),
        "system": torch.from_numpy(train.system).to(dev),
        "domain": torch.from_numpy(train.domain).to(dev),
        "weight": torch.from_numpy(train.weight).to(dev),
    }
    best: tuple[float, float] = (-1.0, -math.inf)
    best_state, best_epoch, threshold, val_f1, calibrated = None, 0, 0.5, 0.0, False
    history: list[dict[str, float]] = []
    step = 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        passes = math.ceil(steps_per_epoch * config.batch_size / max(1, len(train)))
        order = np.concatenate([generator.permutation(len(train)) for _ in range(passes)])
        sums: dict[str, float] = {}
        bar = tqdm(
            range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", leave=False, disable=not show_bars
        )
        for b in bar:
            rows = order[b * config.batch_size : (b + 1) * config.batch_size]
            events, mask = batch_tensors(table, train, rows, dev)
            batch = {k: v[torch.from_numpy(rows).to(dev)] for k, v in tensors.items()}
            coeff = grl_coefficient(step, total_steps, config.grl_gamma)
            with torch.autocast(dev.type, dtype=torch.float16, enabled=use_amp):
                loss, parts, out = _losses(model, events, mask, batch, coeff)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            schedule.step()
            if club_optimiser is not None and model.club is not None and out.specific is not None:
                # CLUB's q(Fs|Fu) is fitted on this step's features, detached (as CLUB's authors do):
                # no second forward pass
                club_loss = -model.club.log_likelihood(
                    out.unified.detach().float(), out.specific.detach().float()
                )
                club_optimiser.zero_grad(set_to_none=True)
                club_loss.backward()
                club_optimiser.step()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            step += 1
        if model.daan is not None:
            model.daan.update_omega()
        record: dict[str, float] = {
            "epoch": float(epoch),
            **{f"loss_{k}": v / steps_per_epoch for k, v in sums.items()},
        }
        key: tuple[float, float]
        if val is not None and len(val):
            scores = predict(model, table, val)
            labelled = val.label >= 0
            thr, f1 = best_threshold(scores[labelled], val.label[labelled], val.weight[labelled])
            vloss = _weighted_bce(scores[labelled], val.label[labelled], val.weight[labelled])
            record.update(val_f1=f1, val_loss=vloss, threshold=thr)
            has_anomaly = bool((val.label[labelled] > 0).any())
            # ties in validation F1 go to the later (more trained, lower learning rate) epoch
            key = (round(f1, 3), float(epoch)) if has_anomaly else (0.0, float(epoch))
            if key >= best:
                best, best_state, best_epoch = key, copy.deepcopy(model.state_dict()), epoch
                threshold, val_f1, calibrated = (thr if has_anomaly else 0.5), f1, has_anomaly
        else:
            best_state, best_epoch = copy.deepcopy(model.state_dict()), epoch
        if model.daan is not None:
            record["omega"] = model.daan.omega
        history.append(record)
        if progress is not None:
            progress(record)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        model, threshold, best_epoch, val_f1, calibrated, history, time.perf_counter() - started
    )


def _weighted_bce(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    if not len(scores):
        return 0.0
    p = np.clip(scores.astype(np.float64), 1e-7, 1 - 1e-7)
    losses = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    return float((losses * weights).sum() / weights.sum())
