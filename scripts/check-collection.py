"""Fail when pytest would silently run less than the repo holds.

Collects the whole suite (no marker filter) and fails when collection errors or finds nothing,
when the total drops below the floor in tests/EXPECTED_COUNT, or when a folder under tests/ that
holds test_*.py files collects no test (as tests/build/ once did: pytest skips folders named
build, dist, ...). Run by scripts/test.sh before the tests; `python3 scripts/check-collection.py`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
FLOOR_FILE = TESTS / "EXPECTED_COUNT"


def collected() -> list[str]:
    """Node ids of every test pytest collects; exits on a collection error or empty suite."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:  # 2: collection errors, 5: nothing collected, ...
        sys.exit(f"collection failed (pytest exit {done.returncode}):\n{done.stdout}{done.stderr}")
    # A set: the warnings summary repeats node ids.
    return sorted(
        {line for line in done.stdout.splitlines() if line.startswith("tests/") and "::" in line}
    )


def silent_folders(ids: list[str]) -> list[str]:
    """Folders holding test files from which no test was collected (fixture data aside)."""
    files = [p.relative_to(REPO) for p in TESTS.rglob("test_*.py")]
    folders = {p.parent.as_posix() for p in files if "fixtures" not in p.parts}
    return sorted(f for f in folders if not any(i.startswith(f + "/") for i in ids))


def main() -> int:
    ids = collected()
    floor = int(FLOOR_FILE.read_text().split()[0])
    problems = [f"{folder}/ has test files but collects no test" for folder in silent_folders(ids)]
    if len(ids) < floor:
        problems.append(
            f"{len(ids)} tests collected, fewer than the {floor} in {FLOOR_FILE.relative_to(REPO)}"
            " (lower it there only when tests were removed on purpose)"
        )
    for problem in problems:
        print(f"check-collection: {problem}", file=sys.stderr)
    if not problems:
        print(f"check-collection: {len(ids)} tests collected (floor {floor})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
