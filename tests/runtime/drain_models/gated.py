import time
from pathlib import Path

from dockyard import Model

HERE = Path(__file__).parent


class Gated(Model[float, float]):
    """Holds every batch until a file `release` exists beside it; touches `entered` first."""

    def predict(self, batch: list[float]) -> list[float]:
        (HERE / "entered").touch()
        while not (HERE / "release").exists():
            time.sleep(0.01)
        return list(batch)
