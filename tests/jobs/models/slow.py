"""Sleeps for the given number of seconds per input, then returns it."""

import time

from dockyard import Model


class Slow(Model[float, float]):
    def predict(self, batch: list[float]) -> list[float]:
        time.sleep(sum(batch))
        return list(batch)
