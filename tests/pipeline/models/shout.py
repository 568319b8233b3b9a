from dockyard import Model


class Shout(Model[str, str]):
    def predict(self, batch: list[str]) -> list[str]:
        return [text.upper() + "!" for text in batch]
