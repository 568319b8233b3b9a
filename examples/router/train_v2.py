"""Train the candidate (v2): the same classifier with stronger regularisation, into v2/.

Run: python train_v2.py   (then copy the printed sha256 into v2/dockyard.toml if it changed)
v1 is examples/digits' artifact, copied unchanged into artifacts/.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import joblib
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

V2 = Path(__file__).parent / "v2"


def main() -> None:
    x, y = load_digits(return_X_y=True)
    # The split of examples/digits/train.py, so both versions are judged on the same test rows.
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    # C=0.002 (v1 uses the default C=1.0): smoother, slightly less accurate, so the shadow
    # comparison has real disagreements to count.
    clf = LogisticRegression(C=0.002, max_iter=2000).fit(x_train, y_train)
    artifact = V2 / "artifacts" / "model.joblib"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(clf, artifact)
    proba = clf.predict_proba(x_test)
    with (V2 / "golden.jsonl").open("w") as golden:
        for row, p in zip(x_test[:8], proba[:8], strict=True):
            out = {"label": int(clf.classes_[p.argmax()]), "probability": round(float(p.max()), 6)}
            golden.write(json.dumps({"input": row.tolist(), "output": out}) + "\n")
    print(f"accuracy {clf.score(x_test, y_test):.4f}")
    print(f"sha256 {hashlib.sha256(artifact.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
