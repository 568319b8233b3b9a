"""The Compose services of the example pipeline: one per stage with its own image and scale."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.deploy.patterns.pipeline import default_images, services
from dockyard.spec import load_spec
from dockyard.spec.pipeline import Pipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline"


def rendered() -> dict[str, dict[str, object]]:
    spec = load_spec(EXAMPLE)
    return services(spec, EXAMPLE, default_images(spec, EXAMPLE))


def test_one_service_per_stage_with_its_own_image_and_replicas() -> None:
    out = rendered()
    assert sorted(out) == [
        "pipeline-classify", "pipeline-clean", "pipeline-features", "pipeline-front",
        "pipeline-init",
    ]  # fmt: skip
    assert out["pipeline-features"]["image"] == "textpipe-features:0.1.0"
    assert out["pipeline-classify"]["command"] == ["stage", "classify", "/app"]
    assert out["pipeline-classify"]["deploy"] == {
        "replicas": 2, "resources": {"limits": {"cpus": "0.5", "memory": "256m"}},
    }  # fmt: skip
    assert out["pipeline-front"]["ports"] == ["127.0.0.1:8001:8001"]


def test_stages_get_the_pipeline_table_and_share_the_queue_volume() -> None:
    out = rendered()
    env = out["pipeline-clean"]["environment"]
    assert isinstance(env, dict)
    assert Pipeline.model_validate_json(env["DOCKYARD_PIPELINE"]) == load_spec(EXAMPLE).pipeline
    for name in ("pipeline-front", "pipeline-clean", "pipeline-classify"):
        assert out[name]["volumes"] == ["pipeline:/data/pipeline"]
        assert out[name]["depends_on"] == {
            "pipeline-init": {"condition": "service_completed_successfully"}
        }


def test_no_docker_socket_and_only_the_one_shot_init_is_root() -> None:
    out = rendered()
    assert "docker.sock" not in json.dumps(out)
    roots = [name for name, svc in out.items() if svc.get("user") == "0:0"]
    assert roots == ["pipeline-init"]
    assert out["pipeline-init"]["network_mode"] == "none"
    assert out["pipeline-clean"]["networks"] == ["back"]
