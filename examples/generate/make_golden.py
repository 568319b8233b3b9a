"""Write golden.jsonl: greedy generations of the current weights (run after train.py)."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.testing import predict

HERE = Path(__file__).parent
PROMPTS = ["The harbour ", "A ship is built ", "At night the watch "]


def main() -> None:
    (HERE / "golden.jsonl").write_text("")  # the spec names it; it must exist before loading
    outputs = predict(HERE, PROMPTS)
    with (HERE / "golden.jsonl").open("w") as golden:
        for prompt, text in zip(PROMPTS, outputs, strict=True):
            golden.write(json.dumps({"input": prompt, "output": text}) + "\n")


if __name__ == "__main__":
    main()
