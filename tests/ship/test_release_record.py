"""The release record: current and previous digests, consecutive rollbacks, and the CLI that
lists it and merges a CI push job's record into a deploy host's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.deploy import releases
from dockyard.deploy.releases import Event, Image, Record
from dockyard.errors import ReleaseError
from tests.support.cli import cli as _cli

REPO = "reg.example/ml/linear"


def _digest(letter: str) -> str:
    return "sha256:" + letter * 64


def _image(letter: str, **extra: object) -> Image:
    return Image(repository=REPO, tag="0.1.0", digest=_digest(letter),
                 pushed_at=f"2026-01-0{ord(letter) - 96}T00:00:00Z", pushed_by="ci",
                 **extra)  # type: ignore[arg-type]  # fmt: skip


def _history(*steps: tuple[str, str]) -> Record:
    """A record of images a..e and the environment `prod`'s (action, image) steps."""
    record = Record()
    for letter in "abcde":
        record = record.add_image(_image(letter))
    for action, letter in steps:
        event = Event(action=action, digest=_digest(letter), at="t", by="me")  # type: ignore[arg-type]
        record = record.add_event("prod", event)
    return record


def test_current_and_previous() -> None:
    record = _history(("deploy", "a"), ("deploy", "b"), ("promote", "c"))
    assert record.current("prod").digest == _digest("c")  # type: ignore[union-attr]
    assert record.previous("prod").digest == _digest("b")
    assert record.current("staging") is None
    with pytest.raises(ReleaseError, match="staging has no earlier release"):
        record.previous("staging")


def test_redeploying_the_running_digest_is_not_a_release_to_return_to() -> None:
    record = _history(("deploy", "a"), ("deploy", "b"), ("deploy", "b"))
    assert record.previous("prod").digest == _digest("a")


def test_consecutive_rollbacks_walk_back_through_history() -> None:
    """a, b, c deployed: rollback -> b, rollback again -> a (not back to the c it left)."""
    record = _history(("deploy", "a"), ("deploy", "b"), ("deploy", "c"))
    first = record.previous("prod")
    assert first.digest == _digest("b")
    record = _history(("deploy", "a"), ("deploy", "b"), ("deploy", "c"), ("rollback", "b"))
    assert record.previous("prod").digest == _digest("a")
    record = _history(
        ("deploy", "a"), ("deploy", "b"), ("deploy", "c"), ("rollback", "b"), ("rollback", "a")
    )
    assert record.current("prod").digest == _digest("a")  # type: ignore[union-attr]
    with pytest.raises(ReleaseError, match="no earlier release"):
        record.previous("prod")


def test_a_deploy_after_a_rollback_starts_a_new_line() -> None:
    record = _history(("deploy", "a"), ("deploy", "b"), ("rollback", "a"), ("deploy", "d"))
    assert record.lineage("prod") == [_digest("a"), _digest("d")]
    assert record.previous("prod").digest == _digest("a")


def test_releases_lists_images_and_what_each_environment_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".dockyard" / "releases.json"
    releases.save(path, _history(("deploy", "a"), ("promote", "b")))
    assert _cli("releases", str(tmp_path)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"2026-01-01T00:00:00Z  {REPO}@{_digest('a')}  unsigned  by ci"
    assert len(lines) == 6
    assert lines[-1] == f"prod: {_digest('b')} (promote t by me)"


def test_merge_brings_the_push_jobs_record_and_sbom_to_the_deploy_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed = tmp_path / "artifact" / "releases.json"
    sbom = releases.store_sbom(pushed, _digest("a"), '{"bomFormat": "CycloneDX"}')
    provenance = {"spec-sha256": "1" * 64, "base": "python@sha256:" + "2" * 64}
    releases.save(pushed, Record().add_image(_image("a", provenance=provenance, sbom=sbom)))
    state = tmp_path / "state"
    monkeypatch.setenv("DOCKYARD_STATE", str(state))
    # The deploy host knew the image only by reference (deployed before the merge existed).
    known = _image("a").model_copy(update={"pushed_by": "(deployed by reference)"})
    releases.save(state / "releases.json", Record().add_image(known))
    assert _cli("releases", str(tmp_path / "project"), "--merge", str(pushed)) == 0
    assert f"{REPO}@{_digest('a')}  unsigned  by ci" in capsys.readouterr().out
    merged = releases.load(state / "releases.json").image(_digest("a"))
    assert merged.provenance == provenance and merged.pushed_by == "ci"
    assert (state / merged.sbom).read_text() == '{"bomFormat": "CycloneDX"}'  # type: ignore[operator]
    assert not (tmp_path / "project" / ".dockyard").exists()  # nothing under DIR with a state
    assert _cli("releases", str(tmp_path), "--merge", str(tmp_path / "none.json")) == 9


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_ci_writes_the_gitlab_pipeline_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import subprocess

    project = tmp_path / "models" / "linear"
    shutil.copytree(Path(__file__).parents[1] / "image" / "fixtures" / "linear", project)
    monkeypatch.chdir(tmp_path)
    assert _cli("ci", "models/linear", "--provider", "gitlab", "--public-key", "k.pub") == 0
    written = tmp_path / ".gitlab-ci.yml"
    text = written.read_text()
    assert "DOCKYARD_PROJECT: models/linear" in text and "DOCKYARD_VERIFY_KEY: k.pub" in text
    checked = subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(written)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    assert _cli("ci", "models/linear", "--provider", "jenkins") == 9
    os.chdir(tmp_path / "models")
    assert _cli("ci", str(project), "--provider", "gitlab", "-o", "x.yml") == 0


def test_the_base_is_recorded_by_digest_when_known() -> None:
    from dockyard.image.oci import pinned

    hub = "python@sha256:" + "1" * 64
    assert pinned("python:3.11-slim", [hub]) == hub  # pulled from Docker Hub
    assert pinned("docker.io/library/python:3.11-slim", [hub]) == hub
    mirror = "127.0.0.1:5000/base/python@sha256:" + "2" * 64
    assert pinned("127.0.0.1:5000/base/python:3.11", [hub, mirror]) == mirror  # a port, a tag
    assert pinned(f"python:3.11@sha256:{'3' * 64}", [hub]) == f"python:3.11@sha256:{'3' * 64}"
    # Built or tagged here, never pulled: only the tag is known.
    assert (
        pinned("dockyard-local/python:3.11-bookworm", []) == "dockyard-local/python:3.11-bookworm"
    )
    assert pinned("other/python:3.11", [hub]) == "other/python:3.11"  # another repository's
