"""The scheduled retrain: fit on the digits data, write a new version, then publish it."""

from __future__ import annotations

import os
import time

import joblib
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from versions import models_dir, publish


def main() -> None:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    clf = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    version = (
        time.strftime("v%Y%m%dT%H%M%S", time.gmtime())
        + f"-{os.environ.get('DOCKYARD_RUN_ID', 'manual')}"
    )
    directory = models_dir()
    staging = directory / f".{version}"
    staging.mkdir(parents=True)
    joblib.dump(clf, staging / "model.joblib")
    staging.rename(directory / version)  # readers never see a half-written version
    publish(directory, version)
    print(f"accuracy {clf.score(x_test, y_test):.4f}")
    print(f"published {version}")


if __name__ == "__main__":
    main()
