"""Alerts and dashboards as code: Prometheus rules and a Grafana dashboard from the spec.

Pure functions (spec -> data); `dockyard monitor` writes them. Every rule selects the scrape job
by name (`job="<project>"` unless told otherwise), so one Prometheus can hold the rules of many
services. Thresholds come from [monitoring.alerts], falling back to the gate: the p95 SLO is
gate.latency_p95_ms and the accuracy floor is gate.threshold.
"""

from __future__ import annotations

from typing import Any

from dockyard.deploy.compose.parts import BACK, FRONT
from dockyard.spec import Spec

RULES_FILE = "dockyard.rules.yml"
DASHBOARD_FILE = "dockyard.dashboard.json"
WINDOW = "5m"
# The inference routes: probes answer 503 by design while a model loads, not an error rate.
INFER = 'route=~"/predict|/v2/models/.+/infer"'


def _rule(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary},
    }


def slo_seconds(spec: Spec) -> float | None:
    """The p95 latency the service promises, in seconds (None: no SLO declared)."""
    ms = spec.monitoring.alerts.latency_p95_ms or spec.gate.latency_p95_ms
    return None if ms is None else ms / 1000


def accuracy_floor(spec: Spec) -> float | None:
    return spec.monitoring.alerts.accuracy_min or spec.gate.threshold


def render_rules(spec: Spec, job: str | None = None) -> dict[str, Any]:
    """The rule groups: service health, model quality, and the worker/pipeline when present."""
    sel = f'job="{job or spec.project.name}"'
    a, d = spec.monitoring.alerts, spec.monitoring.drift
    wait = a.for_
    service = [
        _rule(
            "DockyardHighErrorRate",
            f'sum(rate(dockyard_requests_total{{{sel},{INFER},status=~"5.."}}[{WINDOW}]))'
            f" / sum(rate(dockyard_requests_total{{{sel},{INFER}}}[{WINDOW}])) > {a.error_rate}",
            wait, "critical",
            f"More than {a.error_rate:.0%} of predictions fail with 5xx",
        ),
        _rule(
            "DockyardQueueWaitHigh",
            f"histogram_quantile(0.95, sum by (le) (rate(dockyard_queue_wait_seconds_bucket"
            f"{{{sel}}}[{WINDOW}]))) > {a.queue_age_s}",
            wait, "warning",
            f"Inputs wait more than {a.queue_age_s}s (p95) for the model",
        ),
        _rule(
            "DockyardCanaryFailing",
            f"min(dockyard_canary_ok{{{sel}}}) == 0",
            "1m", "critical",
            "The golden-sample canary does not match: the model gives wrong answers",
        ),
    ]  # fmt: skip
    if (slo := slo_seconds(spec)) is not None:
        service.append(_rule(
            "DockyardLatencyP95AboveSLO",
            f"histogram_quantile(0.95, sum by (le) (rate(dockyard_request_duration_seconds_bucket"
            f'{{{sel},route="/predict"}}[{WINDOW}]))) > {slo}',
            wait, "warning",
            f"p95 latency of /predict is above the {slo * 1000:g} ms SLO",
        ))  # fmt: skip
    quality = [
        _rule(
            "DockyardInputDrift",
            f"max by (feature) (dockyard_input_drift_psi{{{sel}}}) > {d.psi_threshold}",
            wait, "warning",
            f"Input feature {{{{ $labels.feature }}}} drifted (PSI above {d.psi_threshold})",
        ),
        _rule(
            "DockyardInputDriftKS",
            f"max by (feature) (dockyard_input_drift_ks{{{sel}}}) > {d.ks_threshold}",
            wait, "warning",
            f"Input feature {{{{ $labels.feature }}}} drifted (KS above {d.ks_threshold})",
        ),
        _rule(
            "DockyardPredictionDrift",
            f"max by (feature) (dockyard_prediction_drift_baseline_psi{{{sel}}})"
            f" > {d.psi_threshold}",
            wait, "warning",
            "Predictions drifted from the baseline's (PSI above the threshold)",
        ),
    ]  # fmt: skip
    if (floor := accuracy_floor(spec)) is not None:
        metric = spec.gate.metric
        op = "<" if metric == "accuracy" else ">"
        quality.append(_rule(
            "DockyardQualityBelowGate",
            f'min by (version) (dockyard_feedback_score{{{sel},metric="{metric}"}}) {op} {floor}',
            wait, "critical",
            f"Rolling {metric} from ground truth is past the gate's {floor}",
        ))  # fmt: skip
    if a.coverage_min > 0:
        quality.append(_rule(
            "DockyardLabelCoverageLow",
            f"min by (version) (dockyard_feedback_coverage{{{sel}}}) < {a.coverage_min}",
            wait, "warning",
            f"Fewer than {a.coverage_min:.0%} of recent predictions got a true value",
        ))  # fmt: skip
    groups = [
        {"name": f"{spec.project.name}-service", "rules": service},
        {"name": f"{spec.project.name}-model-quality", "rules": quality},
    ]
    if spec.worker.enabled:
        groups.append({"name": f"{spec.project.name}-workers", "rules": _worker(spec, sel)})
    if spec.pipeline.stages:
        groups.append({"name": f"{spec.project.name}-pipeline", "rules": _pipeline(sel, wait)})
    return {"groups": groups}


def _worker(spec: Spec, sel: str) -> list[dict[str, Any]]:
    a = spec.monitoring.alerts
    return [
        _rule(
            "DockyardWorkerHeartbeatStale",
            f"max(dockyard_worker_heartbeat_age_seconds{{{sel}}}) > {a.heartbeat_s}",
            "1m", "critical",
            f"A worker has not renewed its leases for {a.heartbeat_s}s",
        ),
        _rule(
            "DockyardJobAgeHigh",
            f"histogram_quantile(0.95, sum by (le) (rate(dockyard_job_latency_seconds_bucket"
            f"{{{sel}}}[{WINDOW}]))) > {a.queue_age_s}",
            a.for_, "warning",
            f"Jobs take more than {a.queue_age_s}s (p95) from submission to result",
        ),
    ]  # fmt: skip


def _pipeline(sel: str, wait: str) -> list[dict[str, Any]]:
    return [
        _rule(
            "DockyardPipelineDeadLetters",
            f'sum by (stage) (dockyard_pipeline_queue{{{sel},state="dead"}}) > 0',
            wait, "warning",
            "Pipeline stage {{ $labels.stage }} has dead-lettered items",
        ),
    ]  # fmt: skip


# ---- Grafana ------------------------------------------------------------------------------------
def _panel(
    pid: int, title: str, kind: str, exprs: list[tuple[str, str]], x: int, y: int, unit: str = ""
) -> dict[str, Any]:
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def render_dashboard(spec: Spec, job: str | None = None) -> dict[str, Any]:
    """A Grafana dashboard (JSON model, schemaVersion 39) for the service, workers and stages."""
    sel = f'job="{job or spec.project.name}"'
    r = f"[{WINDOW}]"
    q = [
        ("Requests per second by status", "timeseries", "reqps", [
            (f"sum by (status) (rate(dockyard_requests_total{{{sel}}}{r}))", "{{status}}")]),
        ("Latency p50 / p95 (/predict)", "timeseries", "s", [
            (f"histogram_quantile({p}, sum by (le) (rate(dockyard_request_duration_seconds_bucket"
             f'{{{sel},route="/predict"}}{r})))', f"p{round(p * 100)}") for p in (0.5, 0.95)]),
        ("Batch size (mean)", "timeseries", "none", [
            (f"sum(rate(dockyard_batch_size_sum{{{sel}}}{r})) / "
             f"sum(rate(dockyard_batch_size_count{{{sel}}}{r}))", "mean batch")]),
        ("Queue depth", "timeseries", "none", [
            (f"sum(dockyard_queue_depth{{{sel}}})", "API queue"),
            (f'sum by (state) (dockyard_jobs{{{sel},state="queued"}})', "jobs {{state}}"),
            (f"sum by (stage) (dockyard_pipeline_queue{{{sel},state=\"queued\"}})",
             "stage {{stage}}")]),
        ("Predicted classes", "timeseries", "reqps", [
            (f"sum by (label) (rate(dockyard_predictions_total{{{sel}}}{r}))", "{{label}}")]),
        ("Input drift per feature (PSI)", "timeseries", "none", [
            (f"topk(10, dockyard_input_drift_psi{{{sel}}})", "{{feature}}"),
            (f"dockyard_prediction_drift_baseline_psi{{{sel}}}", "predictions {{feature}}")]),
        ("Rolling quality from ground truth", "timeseries", "none", [
            (f"dockyard_feedback_score{{{sel}}}", "{{version}} {{metric}}")]),
        ("Label coverage", "timeseries", "percentunit", [
            (f"dockyard_feedback_coverage{{{sel}}}", "{{version}}")]),
        ("Canary", "stat", "none", [(f"min(dockyard_canary_ok{{{sel}}})", "canary ok")]),
        ("Worker heartbeat age", "timeseries", "s", [
            (f"dockyard_worker_heartbeat_age_seconds{{{sel}}}", "{{instance}}")]),
        ("Pipeline stage latency p95", "timeseries", "s", [
            (f"histogram_quantile(0.95, sum by (le, stage) (rate("
             f"dockyard_pipeline_latency_seconds_bucket{{{sel}}}{r})))", "{{stage}}")]),
    ]  # fmt: skip
    panels = [
        _panel(i + 1, title, kind, exprs, (i % 2) * 12, (i // 2) * 8, unit)
        for i, (title, kind, unit, exprs) in enumerate(q)
    ]
    return {
        "uid": f"dockyard-{spec.project.name}"[:40],
        "title": f"Dockyard: {spec.project.name}",
        "tags": ["dockyard"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": panels,
    }


# ---- Prometheus in the stack (`dockyard up --monitoring`) ---------------------------------------
PROMETHEUS_IMAGE = "dockyard-local/prometheus:{version}"
PROMETHEUS_CONFIG = "prometheus.yml"
OVERLAY_FILE = "compose.monitoring.yaml"
PROMETHEUS_PORT = 9090
# No registry here and none needed: Debian's prometheus binary needs only libc, so it goes onto
# the same Debian base the model images use, as an unprivileged user.
PROMETHEUS_DOCKERFILE = """\
FROM {base}
COPY prometheus /usr/local/bin/prometheus
USER 65534:65534
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/prometheus"]
"""


def render_prometheus_config(spec: Spec, interval: str = "15s") -> dict[str, Any]:
    """Scrape the API (and the workers' metrics ports) under the job the rules select."""
    every = {"type": "A", "refresh_interval": "10s"}
    targets = [{"names": ["api"], "port": spec.serving.port, **every}]
    if spec.worker.enabled and spec.worker.metrics_port:
        targets.append({"names": ["worker"], "port": spec.worker.metrics_port, **every})
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [RULES_FILE],
        "scrape_configs": [{"job_name": spec.project.name, "dns_sd_configs": targets}],
    }


def render_monitoring_overlay(spec: Spec, folder: str, image: str) -> dict[str, Any]:
    """A Compose overlay adding Prometheus, its config and rules mounted read-only."""
    networks = [FRONT, BACK] if spec.worker.enabled else [FRONT]
    probe = (
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9090/-/ready', timeout=3)"
    )
    return {
        "services": {
            "prometheus": {
                "image": image,
                "command": [
                    f"--config.file=/etc/prometheus/{PROMETHEUS_CONFIG}",
                    "--storage.tsdb.path=/prometheus",
                    "--storage.tsdb.retention.time=2d",
                    f"--web.listen-address=:{PROMETHEUS_PORT}",
                ],
                "volumes": [
                    {
                        "type": "bind",
                        "source": folder,
                        "target": "/etc/prometheus",
                        "read_only": True,
                    },
                ],
                "tmpfs": ["/prometheus:rw,noexec,nosuid,size=256m,uid=65534,gid=65534"],
                "ports": [{"target": PROMETHEUS_PORT, "host_ip": "127.0.0.1", "protocol": "tcp"}],
                "networks": networks,
                "read_only": True,
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges:true"],
                "healthcheck": {
                    "test": ["CMD", "python3", "-c", probe],
                    "interval": "5s",
                    "timeout": "4s",
                    "retries": 12,
                },
                "restart": "unless-stopped",
                "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "512m"}}},
            }
        }
    }
