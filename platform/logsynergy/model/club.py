"""CLUB: a contrastive log-ratio upper bound of mutual information (Cheng et al., ICML 2020)."""

from __future__ import annotations

import torch
from torch import nn


class CLUB(nn.Module):
    """Variational q(y|x) = N(mu(x), exp(logvar(x))); `upper_bound` is minimised by the features,
    `log_likelihood` is maximised by q on detached features with its own optimiser.

    Both are averaged over dimensions (not summed), so λ_MI keeps the same meaning at any width."""

    def __init__(self, x_dim: int, y_dim: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or max(32, x_dim)
        self.mu = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim))
        self.logvar = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim), nn.Tanh())

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.mu(x), self.logvar(x)
        return (-((mu - y) ** 2) / logvar.exp() - logvar).mean()

    def upper_bound(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.mu(x), self.logvar(x)
        positive = -((mu - y) ** 2) / 2.0 / logvar.exp()
        # every (x_i, y_j) pair as the negative term, computed in closed form over j
        y_mean = y.mean(0, keepdim=True)
        y_sq_mean = (y**2).mean(0, keepdim=True)
        negative = -(y_sq_mean - 2 * y_mean * mu + mu**2) / 2.0 / logvar.exp()
        return (positive - negative).mean()
