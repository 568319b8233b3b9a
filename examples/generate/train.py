"""Train the character transformer on corpus.txt (about 3 min of CPU time, one core) and save it.

Deterministic (fixed seed, one thread, fixed number of steps), so the same torch version gives
the same artifact; prints its sha256 for dockyard.toml's [[artifacts]] entry.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch
from charlm import CharTransformer
from torch import nn

HERE = Path(__file__).parent
OUT = HERE / "artifacts" / "charlm.pt"
STEPS, BATCH, WINDOW, LR = 250, 16, 128, 2e-3


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    text = (HERE / "corpus.txt").read_text()
    vocab = "".join(sorted(set(text)))
    data = torch.tensor([vocab.index(c) for c in text])
    net = CharTransformer(len(vocab))
    optimiser = torch.optim.AdamW(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for step in range(STEPS):
        starts = torch.randint(0, len(data) - WINDOW - 1, (BATCH,))
        x = torch.stack([data[s : s + WINDOW] for s in starts])
        y = torch.stack([data[s + 1 : s + WINDOW + 1] for s in starts])
        logits, _ = net(x)
        loss = loss_fn(logits.reshape(-1, len(vocab)), y.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == STEPS - 1:
            print(f"step {step:4d}  loss {loss.item():.3f}  {time.perf_counter() - started:.0f}s")
    OUT.parent.mkdir(exist_ok=True)
    torch.save({"vocab": vocab, "state": net.state_dict()}, OUT)
    print(f"wrote {OUT.relative_to(HERE)} sha256 = {hashlib.sha256(OUT.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
