"""For the chaos test: doubles ints, logs every execution, negatives are poison; 1 ms per item."""

import os
import time

from dockyard import Model


class Chaos(Model[int, int]):
    def setup(self) -> None:
        self.log = open(os.environ["CHAOS_EXEC_LOG"], "a", buffering=1)  # noqa: SIM115

    def predict(self, batch: list[int]) -> list[int]:
        time.sleep(0.001 * len(batch))
        if any(x < 0 for x in batch):
            raise ValueError("negative input")
        self.log.write("".join(f"{x}\n" for x in batch))
        return [2 * x for x in batch]
