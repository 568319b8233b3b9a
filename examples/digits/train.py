"""Train the digits classifier and write its artifact, golden samples and evaluation set.

Run: python train.py   (then copy the printed sha256 into dockyard.toml if it changed)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import joblib
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

HERE = Path(__file__).parent


def main() -> None:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    clf = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    artifact = HERE / "artifacts" / "model.joblib"
    artifact.parent.mkdir(exist_ok=True)
    joblib.dump(clf, artifact)
    proba = clf.predict_proba(x_test)
    with (HERE / "golden.jsonl").open("w") as golden:
        for row, p in zip(x_test[:8], proba[:8], strict=True):
            label = int(clf.classes_[p.argmax()])
            out = {"label": label, "probability": round(float(p.max()), 6)}
            golden.write(json.dumps({"input": row.tolist(), "output": out}) + "\n")
    with (HERE / "eval.jsonl").open("w") as evaluation:
        for row, label in zip(x_test, y_test, strict=True):
            evaluation.write(json.dumps({"input": row.tolist(), "label": int(label)}) + "\n")
    print(f"accuracy {clf.score(x_test, y_test):.4f}")
    print(f"sha256 {hashlib.sha256(artifact.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
