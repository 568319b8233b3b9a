"""The [router] table: every problem reported at once, with its key; the Compose services."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.deploy.patterns.router import ROUTER, services
from dockyard.errors import SpecError
from dockyard.runtime.router.config import router_config
from dockyard.spec import load_spec, parse_spec
from tests.router.conftest import version_project

BASE = {"project": {"name": "front"}, "model": {"entrypoint": "tagged:Tagged"}}


def problems(router: dict[str, object], tmp_path: Path) -> list[str]:
    version_project(tmp_path, "front")
    with pytest.raises(SpecError) as caught:
        parse_spec({**BASE, "router": router}, tmp_path, "dockyard.toml")
    return [f"{p.key}: {p.expected}" for p in caught.value.problems]


def test_router_problems_are_reported_together(tmp_path: Path) -> None:
    found = problems(
        {
            "enabled": True,
            "versions": [
                {"name": "v1", "path": "a", "weight": 0},
                {"name": "v1", "path": "b", "weight": 0},
                {"name": "Bad Name", "path": "c"},
                {"name": "v4", "url": "ftp://nope"},
                {"name": "v5", "url": "http://x:1", "path": "c"},
            ],
            "sticky_header": "not a header",
            "shadow_concurrency": 0,
        },
        tmp_path,
    )
    text = "\n".join(found)
    assert "router.versions.2.name" in text
    assert "router.versions.4: version 'v5': exactly one of path or url" in text
    assert "router.versions.3.url: an http(s) URL" in text
    assert "router.sticky_header" in text
    assert "router.shadow_concurrency" in text
    assert len(found) == 5


def test_duplicate_names_zero_weights_and_unknown_shadow(tmp_path: Path) -> None:
    dup = problems({"versions": [{"name": "a", "url": "http://a:1"}] * 2}, tmp_path)
    assert any("unique version names (repeated: a)" in p for p in dup)
    zero = problems({"versions": [{"name": "a", "url": "http://a:1", "weight": 0}]}, tmp_path)
    assert any("weight above 0" in p for p in zero)
    shadow = problems(
        {"versions": [{"name": "a", "url": "http://a:1", "weight": 1}], "shadow": "b"}, tmp_path
    )
    assert any("shadow 'b' to name one of the versions" in p for p in shadow)
    empty = problems({"enabled": True}, tmp_path)
    assert any("at least one [[router.versions]]" in p for p in empty)


def _front(tmp_path: Path, **extra: object) -> Path:
    version_project(tmp_path / "v2", "v2")
    router = {
        "enabled": True,
        "versions": [
            {"name": "v1", "path": ".", "weight": 90},
            {"name": "v2", "path": "../v2", "weight": 10},
            {"name": "far", "url": "http://far.example:9000/", "weight": 0},
        ],
        **extra,
    }
    return version_project(tmp_path / "front", "front", router)


def test_config_takes_urls_from_flags_then_env_then_spec(tmp_path: Path) -> None:
    root = _front(tmp_path)
    spec = load_spec(root)
    env = {"DOCKYARD_VERSION_URL_V1": "http://env-v1:1/", "DOCKYARD_VERSION_URL_V2": "http://e:2"}
    config = router_config(spec, root, env, urls={"v2": "http://flag:3"})
    assert config.urls == {
        "v1": "http://env-v1:1",
        "v2": "http://flag:3",
        "far": "http://far.example:9000",
    }


def test_config_names_every_version_without_a_url_and_a_missing_token(tmp_path: Path) -> None:
    root = _front(tmp_path, admin_token_secret="admin")
    with pytest.raises(SpecError) as caught:
        router_config(load_spec(root), root, {})
    keys = [p.key for p in caught.value.problems]
    assert keys == ["router.versions.v1", "router.versions.v2", "router.admin_token_secret"]
    assert "DOCKYARD_VERSION_URL_V1" in str(caught.value)


def test_stack_services_put_the_router_in_front_of_each_version(tmp_path: Path) -> None:
    root = _front(tmp_path)
    found = services(load_spec(root), root, "front:0.1.0")
    assert sorted(found) == [ROUTER, "model-v1", "model-v2"]  # `far` runs elsewhere
    router = found[ROUTER]
    assert router["image"] == "front:0.1.0"
    assert router["entrypoint"] == ["python", "-m", "dockyard.runtime.router"]
    assert router["environment"]["DOCKYARD_VERSION_URL_V1"] == "http://model-v1:8000"
    assert router["environment"]["DOCKYARD_VERSION_URL_V2"] == "http://model-v2:8000"
    assert router["depends_on"]["model-v2"] == {"condition": "service_started"}
    assert router["ports"][0]["target"] == 8000
    assert found["model-v1"]["image"] == "front:0.1.0"  # path "." is the project itself
    assert found["model-v2"]["image"] == "tagged-v2:0.1.0"  # what `dockyard build` tags it
    assert found["model-v2"]["networks"] == ["back"]
