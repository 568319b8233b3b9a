"""Stage 1: lowercase, drop URLs and punctuation, collapse whitespace."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from dockyard import Model

Text = Annotated[str, Field(min_length=1, max_length=10_000)]
_URL = re.compile(r"https?://\S+")
_NOT_WORD = re.compile(r"[^a-z0-9' ]+")


class Clean(Model[Text, str]):
    def predict(self, batch: list[Text]) -> list[str]:
        return [clean(text) for text in batch]


def clean(text: str) -> str:
    """The normalised text the feature stage hashes."""
    text = _URL.sub(" ", text.lower())
    return " ".join(_NOT_WORD.sub(" ", text).split())
