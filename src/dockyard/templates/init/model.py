"""A tiny sentiment model: replace the word lists with your own weights loaded in setup()."""

from pydantic import BaseModel

from dockyard import Model


class Prediction(BaseModel):
    label: str
    probability: float


class SentimentModel(Model[str, Prediction]):
    def setup(self) -> None:
        # Load weights here, e.g. joblib.load(self.artifacts["weights"]).
        self.positive = {"good", "great", "love", "excellent", "happy"}
        self.negative = {"bad", "awful", "hate", "terrible", "sad"}

    def predict(self, batch: list[str]) -> list[Prediction]:
        return [self._score(text) for text in batch]

    def _score(self, text: str) -> Prediction:
        words = text.lower().split()
        pos = sum(w in self.positive for w in words)
        neg = sum(w in self.negative for w in words)
        probability = (pos + 1) / (pos + neg + 2)
        label = "positive" if probability >= 0.5 else "negative"
        return Prediction(label=label, probability=round(max(probability, 1 - probability), 6))
