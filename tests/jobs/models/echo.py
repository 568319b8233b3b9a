"""Returns each input unchanged."""

from dockyard import Model


class Echo(Model[str, str]):
    def predict(self, batch: list[str]) -> list[str]:
        return list(batch)
