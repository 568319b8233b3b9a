from dockyard import Model


class Fragile(Model[int, int]):
    def predict(self, batch: list[int]) -> list[int]:
        if 13 in batch:
            raise ValueError("unlucky")
        return [x * 2 for x in batch]
