"""A character-level transformer language model: the network shared by train.py and model.py.

Decoder-only, learned positions. `forward` runs a whole window at once (training, and a prompt's
prefill); `decode` advances many sequences by one character each against their key/value caches.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

WIDTH = 256
HEADS = 4
LAYERS = 4
CONTEXT = 128  # characters a sequence can hold: prompt plus generation (the training window)


class Block(nn.Module):
    """Pre-norm attention and MLP; attention itself is left to the caller, which knows whether
    it attends over a window (`forward`) or over each sequence's cache (`decode`)."""

    def __init__(self) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.proj = nn.Linear(WIDTH, WIDTH)
        self.mlp = nn.Sequential(
            nn.Linear(WIDTH, 4 * WIDTH), nn.GELU(), nn.Linear(4 * WIDTH, WIDTH)
        )

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(..., WIDTH) -> q, k, v of shape (..., HEADS, WIDTH // HEADS)."""
        q, k, v = self.qkv(self.ln1(x)).split(WIDTH, dim=-1)
        shape = (*x.shape[:-1], HEADS, WIDTH // HEADS)
        return q.view(shape), k.view(shape), v.view(shape)

    def finish(self, x: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        """The residual stream after attention's output: projection, then the MLP."""
        x = x + self.proj(attended.reshape(x.shape))
        return x + self.mlp(self.ln2(x))


class CharTransformer(nn.Module):
    """Embeddings -> LAYERS blocks -> logits over the characters of the corpus."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, WIDTH)
        self.positions = nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, vocab)

    def forward(
        self, ids: torch.Tensor
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """ids (batch, time) -> logits (batch, time, vocab) and each layer's keys and values."""
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1]))
        cache = []
        for block in self.blocks:
            q, k, v = block.split(x)  # (batch, time, heads, dim)
            cache.append((k, v))
            out = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
            )
            x = block.finish(x, out.transpose(1, 2))
        return self.head(self.ln(x)), cache

    def decode(
        self, ids: torch.Tensor, at: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
    ) -> torch.Tensor:
        """One character per row: ids (n,) at positions `at` (n,); keys/values (layers, n, heads,
        CONTEXT, dim) get this position written in place. Returns logits (n, vocab)."""
        n, span = ids.shape[0], int(at.max()) + 1
        rows = torch.arange(n)
        x = self.tokens(ids) + self.positions(at)
        seen = (torch.arange(span).unsqueeze(0) <= at.unsqueeze(1))[:, None, None, :]
        for layer, block in enumerate(self.blocks):
            q, k, v = block.split(x)  # (n, heads, dim)
            keys[layer, rows, :, at], values[layer, rows, :, at] = k, v
            out = F.scaled_dot_product_attention(
                q.unsqueeze(2),
                keys[layer, :n, :, :span],
                values[layer, :n, :, :span],
                attn_mask=seen,
            )
            x = block.finish(x, out.squeeze(2))
        return self.head(self.ln(x))
