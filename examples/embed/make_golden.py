"""Write golden.jsonl from the current model (run after changing the model or its versions)."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.testing import predict

HERE = Path(__file__).parent
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Containers make deployments reproducible.",
    "A cat sat on the warm windowsill all afternoon.",
]


def main() -> None:
    (HERE / "golden.jsonl").touch()  # the spec names it; it must exist before the model loads
    outputs = predict(HERE, SENTENCES)
    with (HERE / "golden.jsonl").open("w") as golden:
        for sentence, vector in zip(SENTENCES, outputs, strict=True):
            golden.write(
                json.dumps({"input": sentence, "output": [round(x, 6) for x in vector]}) + "\n"
            )


if __name__ == "__main__":
    main()
