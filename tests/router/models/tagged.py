"""A fixture version: echoes its input stamped with the version's tag (tag.txt beside it).

Its readiness follows a file: while `unhealthy` exists beside it, health() is False. While
`delay.txt` holds a number of seconds, each batch takes that long. While `broken` exists,
every batch raises (the service answers 500).
"""

import time
from pathlib import Path

from pydantic import BaseModel

from dockyard import Model

HERE = Path(__file__).parent


class Reply(BaseModel):
    version: str
    text: str


class Tagged(Model[str, Reply]):
    def setup(self) -> None:
        self.tag = (HERE / "tag.txt").read_text().strip()

    def predict(self, batch: list[str]) -> list[Reply]:
        if (HERE / "broken").exists():
            raise RuntimeError("broken on purpose")
        delay = HERE / "delay.txt"
        if delay.exists():
            time.sleep(float(delay.read_text()))
        return [Reply(version=self.tag, text=text) for text in batch]

    def health(self) -> bool:
        return not (HERE / "unhealthy").exists()
