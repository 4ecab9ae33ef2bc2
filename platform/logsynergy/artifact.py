"""The layout of a detector artifact directory, and its completeness check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from logsynergy.errors import ArtifactError


@dataclass(frozen=True)
class ArtifactFiles:
    root: Path

    @property
    def weights(self) -> Path:
        return self.root / "weights.pt"

    @property
    def model_config(self) -> Path:
        return self.root / "model_config.json"

    @property
    def settings(self) -> Path:
        return self.root / "detector.json"

    @property
    def parser_dir(self) -> Path:
        return self.root / "parser"

    @property
    def embeddings(self) -> Path:
        return self.root / "embeddings.npy"

    @property
    def embedding_ids(self) -> Path:
        return self.root / "embedding_ids.json"

    @property
    def interpretations(self) -> Path:
        return self.root / "interpretations.jsonl"

    @property
    def count_checks(self) -> Path:  # only when the detector scores with them
        return self.root / "count_checks.json"

    @property
    def count_model(self) -> Path:  # only when the detector scores with one
        return self.root / "count_model.npz"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    def required(self) -> list[Path]:
        return [
            self.weights,
            self.model_config,
            self.settings,
            self.parser_dir / "parser.json",
            self.parser_dir / "drain_state.b64",
            self.embeddings,
            self.embedding_ids,
            self.interpretations,
        ]


def check_artifact(root: Path) -> ArtifactFiles:
    """The artifact's files, or ArtifactError naming what is missing."""
    if not root.is_dir():
        raise ArtifactError(f"no detector artifact at {root}")
    files = ArtifactFiles(root)
    missing = [p.relative_to(root).as_posix() for p in files.required() if not p.exists()]
    if missing:
        raise ArtifactError(f"detector artifact {root} is incomplete: missing {', '.join(missing)}")
    return files
