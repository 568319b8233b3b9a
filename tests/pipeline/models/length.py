"""Slow on purpose (PIPE_SLEEP_S per item), so a test can kill it mid-item; logs each run."""

import os
import time

from dockyard import Model


class Length(Model[str, int]):
    def predict(self, batch: list[str]) -> list[int]:
        log = os.environ.get("PIPE_RUN_LOG")
        for text in batch:
            time.sleep(float(os.environ.get("PIPE_SLEEP_S", "0")))
            if log:
                with open(log, "a") as handle:
                    handle.write(f"{os.getpid()} {text}\n")
        return [len(text) for text in batch]
