"""Doubles ints; a negative input makes the whole batch raise (a poison input)."""

from dockyard import Model


class Poison(Model[int, int]):
    calls: list[int] = []

    def predict(self, batch: list[int]) -> list[int]:
        self.calls.append(len(batch))
        if any(x < 0 for x in batch):
            raise ValueError("negative input")
        return [2 * x for x in batch]
