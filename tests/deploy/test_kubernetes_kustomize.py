"""`dockyard k8s --out DIR`: a Kustomize base plus one overlay per environment, whose patches
target objects of the base and, applied, equal the environment's `--flat` rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.deploy import releases
from dockyard.deploy.kubernetes import kustomize
from dockyard.errors import SpecError
from tests.deploy.kube import by_key, staged_project

DIGEST = "sha256:" + "ab" * 32
REPOSITORY = "registry.example/echo"


def _cli(*args: str | Path) -> str:
    result = CliRunner().invoke(app, ["k8s", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def _record(root: Path) -> None:
    """The release record says prod runs DIGEST (staging has no release yet)."""
    image = releases.Image(
        repository=REPOSITORY, tag="1", digest=DIGEST, pushed_at="t", pushed_by="ci"
    )
    event = releases.Event(action="deploy", digest=DIGEST, at="t", by="ci")
    record = releases.Record().add_image(image).add_event("prod", event)
    releases.save(root / ".dockyard" / "releases.json", record)


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _overlay(folder: Path) -> kustomize.Overlay:
    """Read an overlay back from its files, as kustomize would."""
    k = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert k["resources"][0] == "../../base"
    patches = [_docs(folder / p["path"])[0] for p in k.get("patches", [])]
    added = [d for name in k["resources"][1:] for d in _docs(folder / name)]
    images = [kustomize.Image(i["name"], i["newName"], i["digest"]) for i in k.get("images", [])]
    return kustomize.Overlay(patches, added, images)


def _normal(manifests: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """Order-free view: named lists (env, volumes) sorted by name, as the API server sees them."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [norm(v) for v in value]
            named = items and all(isinstance(i, dict) and "name" in i for i in items)
            return sorted(items, key=lambda i: i["name"]) if named else items
        return value

    return {k: norm(m) for k, m in by_key(manifests).items()}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = staged_project(tmp_path)
    _record(root)
    out = tmp_path / "k8s"
    said = _cli(root, "--out", out)
    assert "overlays/prod, overlays/staging" in said
    return root, out


def test_the_base_lists_one_file_per_object(layout: tuple[Path, Path]) -> None:
    _, out = layout
    k = yaml.safe_load((out / "base" / "kustomization.yaml").read_text())
    assert k["kind"] == "Kustomization"
    files = {p.name for p in (out / "base").iterdir()} - {"kustomization.yaml"}
    assert sorted(files) == sorted(k["resources"])
    assert "deployment-echo-api.yaml" in files and "statefulset-echo-redis.yaml" in files


def test_every_patch_targets_an_object_of_the_base(layout: tuple[Path, Path]) -> None:
    _, out = layout
    base = {(d["kind"], d["metadata"]["name"]) for f in (out / "base").glob("*-*.yaml")
            for d in _docs(f)}  # fmt: skip
    for env in ("staging", "prod"):
        changes = _overlay(out / "overlays" / env)
        assert changes.patches, env
        for patch in changes.patches:
            assert (patch["kind"], patch["metadata"]["name"]) in base, (env, patch)


def test_the_prod_overlay_patches_only_what_prod_changes(layout: tuple[Path, Path]) -> None:
    _, out = layout
    changes = _overlay(out / "overlays" / "prod")
    patches = by_key(changes.patches)
    api = patches["Deployment", "echo-api"]["spec"]
    assert api["replicas"] == 3
    [container] = api["template"]["spec"]["containers"]
    assert container["resources"]["limits"] == {"cpu": "2000m"}  # memory was 2g already
    assert {"name": "LOG_LEVEL", "value": "warning"} in container["env"]
    assert "image" not in container and "securityContext" not in container
    # prod runs 3 APIs and 4 workers (1 each in the base): each gets a disruption budget
    added = sorted((m["kind"], m["metadata"]["name"]) for m in changes.resources)
    assert added == [("PodDisruptionBudget", "echo-api"), ("PodDisruptionBudget", "echo-worker")]
    assert changes.images == [kustomize.Image("echo", REPOSITORY, DIGEST)]  # the record's


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_base_plus_overlay_equals_the_flat_rendering(layout: tuple[Path, Path], env: str) -> None:
    root, out = layout
    base = [d for f in sorted((out / "base").glob("*-*.yaml")) for d in _docs(f)]
    built = kustomize.build(base, _overlay(out / "overlays" / env))
    flat_file = out.parent / f"{env}.yaml"
    _cli(root, "--env", env, "--flat", "--out", flat_file)
    flat = _docs(flat_file)
    assert _normal(built) == _normal(flat)
    images = {c["image"] for m in flat for p in _pods(m) for c in p["containers"]}
    expected = f"{REPOSITORY}@{DIGEST}" if env == "prod" else "echo:0.1.0"
    assert expected in images


def test_an_environment_dropping_a_service_deletes_it(tmp_path: Path) -> None:
    root = staged_project(tmp_path)
    toml = root / "dockyard.toml"
    toml.write_text(toml.read_text() + "\n[environments.dev.worker]\nenabled = false\n")
    out = tmp_path / "k8s"
    _cli(root, "--env", "dev", "--out", out)
    changes = _overlay(out / "overlays" / "dev")
    deleted = {(p["kind"], p["metadata"]["name"]) for p in changes.patches if "$patch" in p}
    assert ("Deployment", "echo-worker") in deleted and ("StatefulSet", "echo-redis") in deleted
    assert not (out / "overlays" / "prod").exists()


def test_an_unknown_environment_is_a_spec_error(tmp_path: Path) -> None:
    root = staged_project(tmp_path)
    result = CliRunner().invoke(app, ["k8s", str(root), "--env", "qa", "--flat"])
    assert isinstance(result.exception, SpecError)
    assert "environments.qa" in str(result.exception)
    assert "one of: prod, staging" in str(result.exception)


def _pods(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    spec = manifest.get("spec", {})
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template = spec.get("template")
    return [template["spec"]] if template else []


def test_removed_list_items_are_deleted_by_their_merge_key(tmp_path: Path) -> None:
    """volumeMounts merge by mountPath, volumes and env by name: a removed /dev/shm says so."""
    root = staged_project(tmp_path, resources={"shm": "1g"})
    toml = root / "dockyard.toml"
    toml.write_text(toml.read_text() + "\n[environments.small.resources]\nshm = 0\n")
    out = tmp_path / "k8s"
    _cli(root, "--env", "small", "--out", out)
    changes = _overlay(out / "overlays" / "small")
    pod = by_key(changes.patches)["Deployment", "echo-api"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert {"mountPath": "/dev/shm", "$patch": "delete"} in container["volumeMounts"]
    assert {"name": "shm", "$patch": "delete"} in pod["volumes"]
    base = [d for f in sorted((out / "base").glob("*-*.yaml")) for d in _docs(f)]
    _cli(root, "--env", "small", "--flat", "--out", tmp_path / "small.yaml")
    assert _normal(kustomize.build(base, changes)) == _normal(_docs(tmp_path / "small.yaml"))
