"""DAAN (Yu et al., ICDM 2019): global and per-class domain discriminators behind gradient reversal,
mixed by a dynamic factor ω that is recomputed every epoch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import Function


class _GradientReversal(Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:  # type: ignore[override]
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.coeff * grad, None


def grl_coefficient(step: int, total_steps: int, gamma: float = 10.0) -> float:
    """2/(1+exp(-γp))-1 with p the training progress in [0, 1] over the real step count."""
    p = min(1.0, step / max(1, total_steps))
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def _discriminator(dim: int) -> nn.Module:
    hidden = max(32, dim)
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 1))


class DAAN(nn.Module):
    """Domain label 0 = source, 1 = target; two classes (normal, anomalous) for the local discriminators."""

    def __init__(self, dim: int, n_classes: int = 2) -> None:
        super().__init__()
        self.global_disc = _discriminator(dim)
        self.local_discs = nn.ModuleList(_discriminator(dim) for _ in range(n_classes))
        self.omega = 0.5
        self._global_sum = self._local_sum = self._count = 0.0

    def forward(
        self,
        features: torch.Tensor,
        anomaly_logit: torch.Tensor,
        domain: torch.Tensor,
        weight: torch.Tensor,
        coeff: float,
    ) -> torch.Tensor:
        """The weighted DAAN loss for one batch; also accumulates the statistics behind ω."""
        reversed_features = _GradientReversal.apply(features, coeff)
        target = domain.float()
        total = weight.sum().clamp(min=1e-8)
        global_loss = (
            F.binary_cross_entropy_with_logits(
                self.global_disc(reversed_features).squeeze(-1), target, reduction="none"
            )
            * weight
        ).sum() / total
        p_anomaly = torch.sigmoid(anomaly_logit.detach())
        class_probs = torch.stack([1 - p_anomaly, p_anomaly], dim=1)  # softmax over the two classes
        local_loss = features.new_zeros(())
        for k, disc in enumerate(self.local_discs):
            per = F.binary_cross_entropy_with_logits(
                disc(reversed_features * class_probs[:, k : k + 1]).squeeze(-1), target, reduction="none"
            )
            local_loss = local_loss + (per * weight).sum() / total
        local_loss = local_loss / len(self.local_discs)
        self._global_sum += float(global_loss.detach())
        self._local_sum += float(local_loss.detach())
        self._count += 1
        return (1 - self.omega) * global_loss + self.omega * local_loss

    def update_omega(self) -> float:
        """Recompute ω from the epoch's mean global and local discriminator losses, then reset.

        As in DAAN's reference implementation: ω = 1 - L_g / (L_g + L_l); a global discriminator that
        still separates the domains well (low loss) shifts weight to the class-wise alignment."""
        if self._count and (self._global_sum + self._local_sum) > 0:
            self.omega = 1.0 - self._global_sum / (self._global_sum + self._local_sum)
        self._global_sum = self._local_sum = self._count = 0.0
        return self.omega
