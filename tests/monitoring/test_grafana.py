"""Grafana in the stack, as rendered (no Grafana image can be pulled here, so it is not run):
Compose accepts the stack with it, the provisioning files follow Grafana's documented format
and point at what the stack really has, the dashboard passes Grafana's dashboard model, and the
admin password only ever travels as a secret file."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dockyard.cli.stack import write_files
from dockyard.deploy.compose.services import SECRETS_SOURCE
from dockyard.deploy.grafana import ADMIN_SECRET, GRAFANA_DIR
from dockyard.deploy.monitoring import (
    DASHBOARD_FILE,
    OVERLAY_FILE,
    PROMETHEUS_PORT,
    render_dashboard,
)
from dockyard.deploy.monitoring_files import write_monitoring
from dockyard.deploy.stack import compose_binary
from dockyard.deploy.stack_secrets import LOCAL, stage_grafana_password
from dockyard.doctor import check_paths
from dockyard.errors import SpecError
from dockyard.spec import load_spec
from tests.monitoring.conftest import digits

IMAGE = "grafana/grafana-oss:12.0.2@sha256:" + "b" * 64
GRAFANA = f'[monitoring.grafana]\nimage = "{IMAGE}"\n'

# Grafana's provisioning format, as its documentation ("Provision Grafana": data sources and
# dashboard providers, apiVersion 1) lists the keys; anything else would be ignored silently.
_STR, _BOOL, _INT = {"type": "string"}, {"type": "boolean"}, {"type": "integer"}
DATASOURCES = {
    "type": "object", "additionalProperties": False, "required": ["apiVersion", "datasources"],
    "properties": {
        "apiVersion": {"const": 1},
        "datasources": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "type"],
            "properties": {
                "name": _STR, "uid": _STR, "type": _STR, "access": {"enum": ["proxy", "direct"]},
                "url": _STR, "orgId": _INT, "user": _STR, "database": _STR,
                "basicAuth": _BOOL, "basicAuthUser": _STR, "withCredentials": _BOOL,
                "isDefault": _BOOL, "version": _INT, "editable": _BOOL,
                "jsonData": {"type": "object"}, "secureJsonData": {"type": "object"},
            },
        }},
        "deleteDatasources": {"type": "array"},
    },
}  # fmt: skip
PROVIDERS = {
    "type": "object", "additionalProperties": False, "required": ["apiVersion", "providers"],
    "properties": {
        "apiVersion": {"const": 1},
        "providers": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "options"],
            "properties": {
                "name": _STR, "orgId": _INT, "folder": _STR, "folderUid": _STR,
                "type": {"const": "file"}, "disableDeletion": _BOOL,
                "updateIntervalSeconds": _INT, "allowUiUpdates": _BOOL,
                "options": {"type": "object", "additionalProperties": False, "required": ["path"],
                            "properties": {"path": _STR, "foldersFromFilesStructure": _BOOL}},
            },
        }},
    },
}  # fmt: skip


def _compose() -> tuple[str, ...]:
    try:
        binary = compose_binary()
    except Exception:
        pytest.skip("no Compose installed")
    return binary


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A digits stack with Grafana: Compose files, monitoring files and the staged password."""
    root = digits(tmp_path / "digits", GRAFANA)
    spec = load_spec(root)
    write_files(spec, root)
    write_monitoring(spec, root, "dockyard-local/prometheus:test")
    stage_grafana_password(spec, root)
    return root


def _config(root: Path) -> tuple[dict[str, Any], str]:
    files = ["-f", "compose.yaml", "-f", OVERLAY_FILE]
    done = subprocess.run([*_compose(), *files, "config"], cwd=root, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout), done.stdout


def test_compose_accepts_the_stack_with_grafana_bound_to_loopback(stack: Path) -> None:
    config, text = _config(stack)
    grafana = config["services"]["grafana"]
    assert grafana["image"] == IMAGE
    assert [(p["host_ip"], p["target"]) for p in grafana["ports"]] == [("127.0.0.1", 3000)]
    assert grafana["read_only"] is True and grafana["cap_drop"] == ["ALL"]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert set(grafana["networks"]) <= set(config["services"]["prometheus"]["networks"])
    env = grafana["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == f"/run/secrets/{ADMIN_SECRET}"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env and env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert [s["source"] for s in grafana["secrets"]] == [ADMIN_SECRET]
    password = (stack / LOCAL / ADMIN_SECRET).read_text().strip()
    assert len(password) >= 24 and password not in text  # only ever a file


def test_the_password_is_a_0400_file_kept_across_ups(stack: Path) -> None:
    staged = stack / SECRETS_SOURCE / ADMIN_SECRET
    assert stat.S_IMODE(staged.stat().st_mode) in (0o400, 0o444)
    first = staged.read_text()
    stage_grafana_password(load_spec(stack), stack)
    assert staged.read_text() == first


def test_provisioning_files_follow_grafanas_format_and_match_the_stack(stack: Path) -> None:
    config, _ = _config(stack)
    grafana = config["services"]["grafana"]
    mounts = {m["target"]: Path(m["source"]) for m in grafana["volumes"]}
    provisioning = mounts[grafana["environment"]["GF_PATHS_PROVISIONING"]]
    assert provisioning == stack / "monitoring" / GRAFANA_DIR / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "dockyard.yaml").read_text())
    providers = yaml.safe_load((provisioning / "dashboards" / "dockyard.yaml").read_text())
    jsonschema.validate(sources, DATASOURCES)
    jsonschema.validate(providers, PROVIDERS)
    (prometheus,) = sources["datasources"]
    assert prometheus["type"] == "prometheus" and prometheus["isDefault"] is True
    assert prometheus["url"] == f"http://prometheus:{PROMETHEUS_PORT}"  # the stack's service
    assert "prometheus" in config["services"]
    dashboards = mounts[providers["providers"][0]["options"]["path"]]  # the path is mounted
    ours = json.loads((dashboards / DASHBOARD_FILE).read_text())
    assert ours == render_dashboard(load_spec(stack))
    theirs = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
    assert theirs["panels"] and len(theirs["panels"]) == len(ours["panels"])
    assert theirs["templating"]["list"][0]["query"] == "prometheus"  # picks the provisioned one


def test_no_grafana_unless_an_image_is_named(tmp_path: Path) -> None:
    root = digits(tmp_path / "digits")
    spec = load_spec(root)
    write_monitoring(spec, root, "dockyard-local/prometheus:test")
    assert stage_grafana_password(spec, root) == []
    overlay = yaml.safe_load((root / OVERLAY_FILE).read_text())
    assert list(overlay["services"]) == ["prometheus"] and "secrets" not in overlay
    assert not (root / "monitoring" / GRAFANA_DIR).exists()


@pytest.mark.parametrize("image", ["grafana/grafana:latest", "grafana/grafana-oss:12.0.2"])
def test_a_grafana_image_by_tag_is_refused_with_the_key_named(tmp_path: Path, image: str) -> None:
    root = digits(tmp_path / "digits", f'[monitoring.grafana]\nimage = "{image}"\n')
    with pytest.raises(SpecError) as raised:
        load_spec(root)
    text = str(raised.value)
    assert "monitoring.grafana.image" in text and "sha256" in text and "dockyard.toml" in text


def test_the_doctor_finds_nothing_above_info_in_the_stack_with_grafana(stack: Path) -> None:
    report = check_paths([stack / "compose.yaml", stack / OVERLAY_FILE])
    assert [f"{f.rule} {f.message}" for f in report.findings if f.severity != "info"] == []
    assert any("grafana" in f.message for f in report.findings)  # it did read the service
