"""For the chaos test: doubles ints, logs every execution, negatives are poison; slow per item."""

import os
import time

from dockyard import Model


class Chaos(Model[int, int]):
    def setup(self) -> None:
        self.log = open(os.environ["CHAOS_EXEC_LOG"], "a", buffering=1)  # noqa: SIM115
        self.per_item_s = float(os.environ.get("CHAOS_ITEM_S", "0.001"))

    def predict(self, batch: list[int]) -> list[int]:
        time.sleep(self.per_item_s * len(batch))
        if any(x < 0 for x in batch):
            raise ValueError("negative input")
        self.log.write("".join(f"{x}\n" for x in batch))
        return [2 * x for x in batch]
