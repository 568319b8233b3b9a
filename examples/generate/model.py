"""A character-level transformer that writes harbour prose, one forward pass per character.

Step-wise, so Dockyard batches it continuously. Each sequence owns one row ("slot") of a shared
key/value cache; live sequences always fill rows 0..n-1, so a step attends over a view of the
cache, never a copy: when a sequence leaves, the last row moves into its place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from dockyard import GenerationParams, GenerativeModel

Prompt = Annotated[str, Field(min_length=1, max_length=64)]


@dataclass(eq=False)
class Sequence:
    """One generation: its cache row, how many positions it holds, the next character's logits."""

    slot: int
    length: int
    logits: Any  # (vocab,)
    temperature: float
    rng: Any  # torch.Generator, seeded when the client sent a seed


class CharLM(GenerativeModel[Prompt, str, str]):
    default_params = GenerationParams(max_tokens=64)

    def setup(self) -> None:
        import torch
        from charlm import CONTEXT, HEADS, LAYERS, WIDTH, CharTransformer

        torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
        saved = torch.load(self.artifacts["weights"], weights_only=True)
        self.vocab: str = saved["vocab"]
        self.net = CharTransformer(len(self.vocab))
        self.net.load_state_dict(saved["state"])
        self.net.eval()
        self.torch, self.context = torch, CONTEXT
        self.slots: list[Sequence] = []  # row i of the cache belongs to slots[i]
        shape = (LAYERS, 0, HEADS, CONTEXT, WIDTH // HEADS)
        self.keys, self.values = torch.zeros(shape), torch.zeros(shape)

    def start(self, item: Prompt, params: GenerationParams) -> Sequence:
        torch = self.torch
        ids = torch.tensor([[self.vocab.find(c) if c in self.vocab else 0 for c in item]])
        with torch.inference_mode():
            logits, cache = self.net(ids)  # the prompt in one pass (prefill)
            slot = self._claim()
            for layer, (k, v) in enumerate(cache):
                self.keys[layer, slot, :, : ids.shape[1]] = k[0].transpose(0, 1)
                self.values[layer, slot, :, : ids.shape[1]] = v[0].transpose(0, 1)
        rng = torch.Generator()
        rng.manual_seed(params.seed if params.seed is not None else int.from_bytes(os.urandom(4)))
        seq = Sequence(slot, ids.shape[1], logits[0, -1], params.temperature, rng)
        self.slots.append(seq)
        return seq

    def step(self, states: list[Sequence]) -> list[str | None]:
        torch = self.torch
        live = [s for s in states if s.length < self.context]  # a full context ends the rest
        with torch.inference_mode():
            chosen = self._choose(live)
            logits = self._decode(live, chosen)
        for seq, row in zip(live, logits.unbind(0), strict=True):
            seq.length += 1
            seq.logits = row
        picked = {id(s): self.vocab[c] for s, c in zip(live, chosen.tolist(), strict=True)}
        return [picked.get(id(s)) for s in states]

    def _choose(self, live: list[Sequence]) -> Any:
        if not live:
            return self.torch.empty(0, dtype=self.torch.long)
        chosen = self.torch.stack([s.logits for s in live]).argmax(-1)  # greedy for all...
        for i, seq in enumerate(live):
            if seq.temperature > 0:  # ...then sample those that asked for it
                chosen[i] = self._sample(seq)
        return chosen

    def _decode(self, live: list[Sequence], chosen: Any) -> Any:
        """Logits after each sequence's chosen character, in `live`'s order."""
        torch = self.torch
        if not live:
            return torch.empty(0, len(self.vocab))
        slots = torch.tensor([s.slot for s in live])
        at = torch.tensor([s.length for s in live])
        if len(live) == len(self.slots):  # the usual step: every row, attended in place
            ids, positions = torch.empty_like(chosen), torch.empty_like(at)
            ids[slots], positions[slots] = chosen, at  # rows in cache order
            return self.net.decode(ids, positions, self.keys, self.values)[slots]
        keys, values = self.keys[:, slots], self.values[:, slots]  # some rows: a copy of them
        logits = self.net.decode(chosen, at, keys, values)
        self.keys[:, slots], self.values[:, slots] = keys, values
        return logits

    def release(self, state: Sequence) -> None:
        """Free the sequence's cache row: the last row moves into it, so live rows stay 0..n-1."""
        last = self.slots.pop()
        if last is not state:
            with self.torch.inference_mode():
                self.keys[:, state.slot] = self.keys[:, last.slot]
                self.values[:, state.slot] = self.values[:, last.slot]
            last.slot = state.slot
            self.slots[state.slot] = last

    def _claim(self) -> int:
        """The next free row, growing the cache when every row is taken."""
        rows = len(self.slots)
        if rows == self.keys.shape[1]:
            grow = max(8, rows)
            extra = self.torch.zeros((*self.keys.shape[:1], grow, *self.keys.shape[2:]))
            self.keys = self.torch.cat([self.keys, extra], dim=1)
            self.values = self.torch.cat([self.values, self.torch.zeros_like(extra)], dim=1)
        return rows

    def _sample(self, seq: Sequence) -> Any:
        probs = self.torch.softmax(seq.logits / seq.temperature, dim=-1)
        return self.torch.multinomial(probs, 1, generator=seq.rng)[0]

    def prompt_tokens(self, item: Prompt) -> int:
        return len(item)  # one token per character

    def chat_prompt(self, messages: list[dict[str, str]]) -> Prompt:
        return messages[-1]["content"]  # a character model continues the last message
