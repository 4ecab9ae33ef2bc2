"""Feature extractor with system-unified/-specific halves (SUFE), CLUB and DAAN heads."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from logsynergy.model.club import CLUB
from logsynergy.model.daan import DAAN
from logsynergy.model.presets import ModelConfig


@dataclass
class NetOutput:
    """Forward results: anomaly logits [B], system logits [B, K], and the two feature halves."""

    anomaly_logit: torch.Tensor
    system_logit: torch.Tensor | None
    unified: torch.Tensor
    specific: torch.Tensor | None


class LogSynergyNet(nn.Module):
    """Transformer encoder over event embeddings, pooled, split into Fu (anomaly) and Fs (system)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.project = nn.Sequential(nn.Linear(config.embed_dim, h), nn.LayerNorm(h))
        self.position = nn.Embedding(config.max_events + 1, h)
        self.cls = nn.Parameter(torch.zeros(1, 1, h))
        layer = nn.TransformerEncoderLayer(
            h, config.heads, config.ffn, config.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(h)
        self.pool = nn.Linear(3 * h, h)
        half = h // 2 if config.use_sufe else h
        self.unified_dim = half
        self.anomaly_head = nn.Sequential(nn.Linear(half, half), nn.GELU(), nn.Linear(half, 1))
        # the window's peak event novelty, added to the anomaly head's input (not to Fu: DA and CLUB
        # see the encoder's features only)
        self.novelty_input = nn.Linear(1, half) if config.novelty_skip and config.event_novelty else None
        self.system_head = nn.Linear(h - half, config.n_systems) if config.use_sufe else None
        self.club = CLUB(half, h - half) if config.use_sufe else None
        self.daan = DAAN(half) if config.use_da else None

    def forward(self, events: torch.Tensor, mask: torch.Tensor) -> NetOutput:
        """events [B, L, E] float; mask [B, L] bool, True on real events."""
        novelty = events[..., -1] if self.novelty_input is not None else None
        return self.forward_projected(self.project(events), mask, novelty)

    def forward_projected(
        self, x: torch.Tensor, mask: torch.Tensor, novelty: torch.Tensor | None = None
    ) -> NetOutput:
        """`forward` on events already through `project` (it acts on each event alone): x [B, L, H];
        `novelty` [B, L]: each event's novelty (the last column of its vector), for `novelty_skip`."""
        batch, length, _ = x.shape
        use_cls = self.config.pooling == "cls"
        if use_cls:
            x = torch.cat([self.cls.expand(batch, 1, -1), x], dim=1)
            mask = torch.cat([mask.new_ones(batch, 1), mask], dim=1)
            length += 1
        positions = torch.arange(length, device=x.device).clamp(max=self.config.max_events)
        x = x + self.position(positions)[None]
        x = self.encoder(x, src_key_padding_mask=~mask)
        x = self.norm(x)
        if use_cls:
            pooled = x[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(x.dtype)
            mean = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            peak = x.masked_fill(~mask.unsqueeze(-1), torch.finfo(x.dtype).min).amax(1)
            total = (x * weights).sum(1) / 10.0
            pooled = self.pool(torch.cat([mean, peak, total], dim=-1))
        unified = pooled[:, : self.unified_dim]
        head_input = unified
        if self.novelty_input is not None and novelty is not None:
            peak_novelty = novelty.masked_fill(~mask[:, -novelty.shape[1] :], 0.0).amax(1, keepdim=True)
            head_input = unified + self.novelty_input(peak_novelty.to(unified.dtype))
        specific = pooled[:, self.unified_dim :] if self.config.use_sufe else None
        return NetOutput(
            anomaly_logit=self.anomaly_head(head_input).squeeze(-1),
            system_logit=self.system_head(specific) if self.system_head is not None else None,
            unified=unified,
            specific=specific,
        )

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Everything but the CLUB variational net, which has its own optimiser."""
        club = {id(p) for p in self.club.parameters()} if self.club is not None else set()
        return [p for p in self.parameters() if id(p) not in club]
