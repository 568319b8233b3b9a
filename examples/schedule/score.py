"""The hourly check: score the current version on held-out digits; exit 1 below the bar."""

from __future__ import annotations

import argparse
import sys

import joblib
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from versions import current, models_dir


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-accuracy", type=float, default=0.9)
    bar = parser.parse_args().min_accuracy
    directory = models_dir()
    version = current(directory)
    clf = joblib.load(directory / version / "model.joblib")
    x, y = load_digits(return_X_y=True)
    _, x_test, _, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    accuracy = clf.score(x_test, y_test)
    print(f"{version} accuracy {accuracy:.4f} (bar {bar})")
    return 0 if accuracy >= bar else 1


if __name__ == "__main__":
    sys.exit(main())
