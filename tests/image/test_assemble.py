"""The runtime image's config and load archive (image.assemble): what the Dockerfile's runtime
stage says, at the source epoch, byte-for-byte the same for the same inputs."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from dockyard.image.assemble import (
    OwnLayer,
    base_history,
    image_config,
    merge_env,
    write_archive,
)
from dockyard.image.direct import not_reproducible, sources
from dockyard.image.dockerfile import render_dockerfile
from dockyard.image.plan import BuildPlan

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
BASE: dict[str, Any] = {
    "Id": "sha256:" + "b" * 64,
    "Architecture": "amd64",
    "Os": "linux",
    "RootFS": {"Type": "layers", "Layers": ["sha256:" + "1" * 64]},
    "Config": {"Env": ["PATH=/usr/bin", "LANG=C.UTF-8"], "Cmd": ["python3"], "Hostname": "abc"},
}
HISTORY = [{"created": "2025-01-01T00:00:00Z", "created_by": "import"}]
OWN = [
    OwnLayer("sha256:" + "2" * 64, "dockyard: the runtime user in /etc/passwd"),
    OwnLayer("sha256:" + "3" * 64, "dockyard: COPY app in /app/"),
]


def _config(plan: BuildPlan, own: list[OwnLayer] = OWN) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(image_config(plan, BASE, HISTORY, own, EPOCH))
    return loaded


def test_same_inputs_same_bytes(linear_plan: BuildPlan) -> None:
    first = image_config(linear_plan, BASE, HISTORY, OWN, EPOCH)
    assert first == image_config(linear_plan, dict(BASE), list(HISTORY), list(OWN), EPOCH)
    assert first != image_config(linear_plan, BASE, HISTORY, OWN, EPOCH + 1)


def test_times_are_the_source_epoch_and_layers_follow_the_base(linear_plan: BuildPlan) -> None:
    config = _config(linear_plan)
    assert config["created"] == "2026-01-01T00:00:00Z"
    assert config["rootfs"]["diff_ids"] == [*BASE["RootFS"]["Layers"], *(x.diff_id for x in OWN)]
    assert [h["created_by"] for h in config["history"]] == [
        "import",
        *(x.created_by for x in OWN),
    ]
    assert {h["created"] for h in config["history"][1:]} == {"2026-01-01T00:00:00Z"}


def test_settings_are_the_runtime_stage_s(linear_plan: BuildPlan) -> None:
    """Each value as the Dockerfile's runtime stage sets it (the recipe `--print` shows)."""
    settings = _config(linear_plan)["config"]
    runtime = render_dockerfile(linear_plan).split("\nFROM ")[-1]
    assert f"USER {settings['User']}" in runtime
    assert f"WORKDIR {settings['WorkingDir']}" in runtime
    assert f"ENTRYPOINT {json.dumps(settings['Entrypoint'])}" in runtime
    assert f"CMD {json.dumps(settings['Cmd'])}" in runtime
    assert f"CMD {json.dumps(settings['Healthcheck']['Test'][1:])}" in runtime
    assert settings["ExposedPorts"] == {"8000/tcp": {}} and settings["StopSignal"] == "SIGTERM"
    assert settings["Healthcheck"]["Interval"] == 10 * 10**9
    for key, value in linear_plan.labels:
        assert settings["Labels"][key] == value
    assert settings["Labels"]["dev.dockyard.project"] == linear_plan.name
    assert (
        "PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        in (settings["Env"])
    )
    assert settings["Hostname"] == "" and settings["Image"] == ""


def test_env_replaces_in_place_and_appends() -> None:
    merged = merge_env(["PATH=/usr/bin", "LANG=C.UTF-8"], [("PATH", "/opt/venv/bin"), ("A", "1")])
    assert merged == ["PATH=/opt/venv/bin", "LANG=C.UTF-8", "A=1"]


def test_base_history_keeps_the_engine_s_entries_when_they_match_the_layers() -> None:
    engine = [  # newest first, as the engine lists them
        {"Created": 1_700_000_100, "CreatedBy": "CMD python3", "Size": 0},
        {"Created": 1_700_000_000, "CreatedBy": "", "Size": 169, "Comment": "Imported from -"},
    ]
    assert base_history(engine, 1) == [
        {"created": "2023-11-14T22:13:20Z", "created_by": "", "comment": "Imported from -"},
        {"created": "2023-11-14T22:15:00Z", "created_by": "CMD python3", "empty_layer": True},
    ]
    # sizes that do not add up to the layers: one plain entry per layer keeps history aligned
    assert base_history(engine, 2) == [
        {"created": "1970-01-01T00:00:00Z", "created_by": "base layer"},
        {"created": "1970-01-01T00:00:00Z", "created_by": "base layer"},
    ]


def test_archive_names_every_layer_and_carries_only_the_new_ones(tmp_path: Path) -> None:
    config = b'{"x":1}'
    config_id = hashlib.sha256(config).hexdigest()
    layers = ["sha256:" + "1" * 64, "sha256:" + "3" * 64]
    new = tmp_path / "app.tar"
    new.write_bytes(b"layer")
    out = io.BytesIO()
    write_archive(out, config, config_id, "demo:1", layers, {layers[1]: new})
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = tar.getnames()
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        manifest = json.loads(manifest_file.read())
    assert manifest == [
        {
            "Config": f"{config_id}.json",
            "RepoTags": ["demo:1"],
            "Layers": ["1" * 64 + "/layer.tar", "3" * 64 + "/layer.tar"],
        }
    ]
    assert names == ["manifest.json", f"{config_id}.json", "3" * 64 + "/layer.tar"]


def test_layers_go_from_least_to_most_often_changed(linear_plan: BuildPlan) -> None:
    """venv, each artifact, dockyard (the app layer comes last, from the context)."""
    assert [(s.path, s.dest) for s in sources(linear_plan)] == [
        ("/opt/venv", "/opt/venv"),
        ("/build/models/weights", "/models/weights"),
        ("/build/dockyard-site", "/opt/venv/lib/python3.11/site-packages"),
    ]


def test_apt_in_the_runtime_stage_is_built_by_docker_and_says_why(
    linear_plan: BuildPlan,
) -> None:
    assert not_reproducible(linear_plan) is None
    with_apt = replace(linear_plan, system_packages=("libgomp1",))
    reason = not_reproducible(with_apt)
    assert reason is not None and "libgomp1" in reason and "docker build" in reason
