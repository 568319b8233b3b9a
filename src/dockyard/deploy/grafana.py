"""Grafana in the stack (`dockyard up --monitoring` with [monitoring.grafana] image set).

Everything Grafana shows is provisioned from files, so the stack's Grafana holds no state worth
keeping (its data dir is a tmpfs): a Prometheus data source pointing at the stack's Prometheus,
and a dashboard provider loading the dashboard `dockyard monitor` writes. Grafana's documented
provisioning format (apiVersion 1) is used for both. It listens on 127.0.0.1 only, anonymous
access and sign-up are off, and the admin password is read from a secret file
(GF_SECURITY_ADMIN_PASSWORD__FILE), never from the environment.
"""

from __future__ import annotations

from typing import Any

from dockyard.deploy.compose.parts import FRONT
from dockyard.deploy.compose.services import SECRETS_SOURCE
from dockyard.deploy.monitoring import DASHBOARD_FILE, PROMETHEUS_PORT, render_dashboard
from dockyard.spec import Spec

GRAFANA_PORT = 3000
GRAFANA_DIR = "grafana"  # under the stack's monitoring folder
ADMIN_SECRET = "grafana_admin_password"
PROVISIONING = "/etc/grafana/provisioning"
DASHBOARDS = "/etc/grafana/dashboards"
DATASOURCE_UID = "dockyard-prometheus"


def render_datasources() -> dict[str, Any]:
    """provisioning/datasources/: the stack's Prometheus, the default (and only) data source."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": f"http://prometheus:{PROMETHEUS_PORT}",
                "isDefault": True,
                "editable": False,
                "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
            }
        ],
    }


def render_dashboard_provider() -> dict[str, Any]:
    """provisioning/dashboards/: load the dashboards folder; the UI cannot change or delete them."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "dockyard",
                "orgId": 1,
                "folder": "Dockyard",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS, "foldersFromFilesStructure": False},
            }
        ],
    }


def grafana_files(spec: Spec) -> dict[str, dict[str, Any]]:
    """Path under the monitoring folder -> content (YAML for provisioning, JSON for dashboards)."""
    return {
        f"{GRAFANA_DIR}/provisioning/datasources/dockyard.yaml": render_datasources(),
        f"{GRAFANA_DIR}/provisioning/dashboards/dockyard.yaml": render_dashboard_provider(),
        f"{GRAFANA_DIR}/dashboards/{DASHBOARD_FILE}": render_dashboard(spec),
    }


def grafana_service(spec: Spec, folder: str) -> dict[str, Any]:
    """The Compose service; `folder` is the monitoring folder holding `grafana_files`."""
    conf = spec.monitoring.grafana
    port: dict[str, Any] = {"target": GRAFANA_PORT, "host_ip": "127.0.0.1", "protocol": "tcp"}
    if conf.port is not None:
        port["published"] = str(conf.port)
    uid = conf.user.split(":")[0]
    probe = f"wget -q -O /dev/null http://127.0.0.1:{GRAFANA_PORT}/api/health || exit 1"
    return {
        "image": conf.image,
        "user": conf.user,
        "environment": {
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD__FILE": f"/run/secrets/{ADMIN_SECRET}",
            "GF_AUTH_ANONYMOUS_ENABLED": "false",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
            "GF_PATHS_PROVISIONING": PROVISIONING,
            "GF_SERVER_HTTP_PORT": str(GRAFANA_PORT),
        },
        "secrets": [ADMIN_SECRET],
        "volumes": [
            _ro(f"{folder}/{GRAFANA_DIR}/provisioning", PROVISIONING),
            _ro(f"{folder}/{GRAFANA_DIR}/dashboards", DASHBOARDS),
        ],
        "tmpfs": [
            f"/var/lib/grafana:rw,noexec,nosuid,size=256m,uid={uid}",
            f"/tmp:rw,noexec,nosuid,size=64m,uid={uid}",
        ],
        "ports": [port],
        "networks": [FRONT],
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "depends_on": {"prometheus": {"condition": "service_healthy"}},
        "healthcheck": {
            "test": ["CMD-SHELL", probe],
            "interval": "10s",
            "timeout": "5s",
            "retries": 12,
            "start_period": "30s",
        },
        "restart": "unless-stopped",
        "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "512m"}}},
    }


def grafana_secrets() -> dict[str, Any]:
    """The top-level `secrets:` entry: the admin password `dockyard up` stages (0400)."""
    return {ADMIN_SECRET: {"file": f"{SECRETS_SOURCE}/{ADMIN_SECRET}"}}


def _ro(source: str, target: str) -> dict[str, Any]:
    return {"type": "bind", "source": source, "target": target, "read_only": True}


def with_grafana(overlay: dict[str, Any], spec: Spec, folder: str) -> dict[str, Any]:
    """The monitoring overlay plus Grafana, when [monitoring.grafana] names an image."""
    if spec.monitoring.grafana.image is None:
        return overlay
    services = {**overlay["services"], "grafana": grafana_service(spec, folder)}
    return {**overlay, "services": services, "secrets": grafana_secrets()}
