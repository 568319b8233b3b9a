"""A character-level GRU language model: the network shared by train.py and model.py."""

from __future__ import annotations

import torch
from torch import nn

EMBED = 64
HIDDEN = 256
LAYERS = 2


class CharGRU(nn.Module):
    """Embedding -> 2-layer GRU -> logits over the characters of the corpus."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, EMBED)
        self.gru = nn.GRU(EMBED, HIDDEN, num_layers=LAYERS, batch_first=True)
        self.head = nn.Linear(HIDDEN, vocab)

    def forward(
        self, ids: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (batch, time) -> logits (batch, time, vocab) and the new hidden state."""
        out, hidden = self.gru(self.embed(ids), hidden)
        return self.head(out), hidden
