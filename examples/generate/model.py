"""A character-level GRU that writes harbour prose, one forward pass per character.

Step-wise, so Dockyard batches it continuously: each sequence keeps its own hidden state, and a
step stacks the hidden states of every active sequence into one batched forward pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from dockyard import GenerationParams, GenerativeModel

Prompt = Annotated[str, Field(min_length=1, max_length=1000)]


@dataclass(eq=False)
class Sequence:
    """One generation: the GRU's hidden state and the logits of the next character."""

    hidden: Any  # (layers, hidden)
    logits: Any  # (vocab,)
    temperature: float
    rng: Any  # torch.Generator, seeded when the client sent a seed


class CharLM(GenerativeModel[Prompt, str, str]):
    default_params = GenerationParams(max_tokens=64)

    def setup(self) -> None:
        import torch
        from charlm import CharGRU

        torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
        saved = torch.load(self.artifacts["weights"], weights_only=True)
        self.vocab: str = saved["vocab"]
        self.net = CharGRU(len(self.vocab))
        self.net.load_state_dict(saved["state"])
        self.net.eval()
        self.torch = torch

    def start(self, item: Prompt, params: GenerationParams) -> Sequence:
        torch = self.torch
        ids = torch.tensor([[self.vocab.find(c) if c in self.vocab else 0 for c in item]])
        with torch.inference_mode():
            logits, hidden = self.net(ids)  # the prompt in one pass (prefill)
        rng = torch.Generator()
        rng.manual_seed(params.seed if params.seed is not None else int.from_bytes(os.urandom(4)))
        return Sequence(hidden[:, 0], logits[0, -1], params.temperature, rng)

    def step(self, states: list[Sequence]) -> list[str | None]:
        torch = self.torch
        with torch.inference_mode():
            chosen = torch.stack([s.logits for s in states]).argmax(-1)  # greedy for all...
            for i, seq in enumerate(states):
                if seq.temperature > 0:  # ...then sample those that asked for it
                    chosen[i] = self._sample(seq)
            hidden = torch.stack([s.hidden for s in states], dim=1)
            logits, hidden = self.net(chosen.unsqueeze(1), hidden)  # one pass for the batch
        for seq, h, out in zip(states, hidden.unbind(1), logits[:, -1].unbind(0), strict=True):
            seq.hidden, seq.logits = h, out
        return [self.vocab[c] for c in chosen.tolist()]

    def _sample(self, seq: Sequence) -> Any:
        probs = self.torch.softmax(seq.logits / seq.temperature, dim=-1)
        return self.torch.multinomial(probs, 1, generator=seq.rng)[0]

    def prompt_tokens(self, item: Prompt) -> int:
        return len(item)  # one token per character

    def chat_prompt(self, messages: list[dict[str, str]]) -> Prompt:
        return messages[-1]["content"]  # a character model continues the last message
