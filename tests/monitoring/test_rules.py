"""Alert rules and the dashboard: promtool checks them and proves each alert fires on a series
that breaks it (and stays quiet on one that does not); the dashboard round-trips through
Grafana's dashboard model (grafana-foundation-sdk, generated from Grafana's schema)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dockyard.deploy.monitoring import (
    PROMETHEUS_CONFIG,
    render_dashboard,
    render_monitoring_overlay,
    render_prometheus_config,
    render_rules,
)
from dockyard.spec import Spec, load_spec
from tests.monitoring.conftest import DIGITS, REPO, digits
from tests.monitoring.promtool import check, promtool, test_rules, write_rules

EXAMPLES = sorted(p.parent.name for p in (REPO / "examples").glob("*/dockyard.toml"))
JOB = 'job="digits"'


@pytest.fixture
def spec(tmp_path: Path) -> Spec:
    extra = "[monitoring.alerts]\ncoverage_min = 0.2\nerror_rate = 0.1\nqueue_age_s = 2\n"
    return load_spec(digits(tmp_path / "digits", extra))


@pytest.mark.parametrize("example", EXAMPLES)
def test_promtool_accepts_the_rules_of_every_example(example: str, tmp_path: Path) -> None:
    done = check(write_rules(load_spec(REPO / "examples" / example), tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    rules = write_rules(load_spec(DIGITS), tmp_path)
    rules.write_text(rules.read_text().replace("> 0.05", "> > 0.05"))
    assert check(rules).returncode == 1


def alert(name: str, at: str, firing: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [{"exp_labels": labels} for labels in firing or []],
    }


def counter(labels: str, per_minute: float, minutes: int = 30) -> dict[str, str]:
    return {
        "series": f"dockyard_requests_total{{{JOB},{labels}}}",
        "values": f"0+{per_minute}x{minutes}",
    }


def test_error_rate_alert(spec: Spec, tmp_path: Path) -> None:
    rules = write_rules(spec, tmp_path)
    series = [
        counter('route="/predict",method="POST",status="200"', 80),
        counter('route="/predict",method="POST",status="500"', 20),  # 20 % > 10 %
    ]
    test_rules(rules, series, [
        alert("DockyardHighErrorRate", "3m"),  # pending for 5m first
        alert("DockyardHighErrorRate", "15m", [{"severity": "critical"}]),
    ])  # fmt: skip
    quiet = [counter('route="/predict",method="POST",status="200"', 95),
             counter('route="/predict",method="POST",status="500"', 5)]  # fmt: skip
    test_rules(rules, quiet, [alert("DockyardHighErrorRate", "15m")])
    loading = [*quiet, counter('route="/readyz",method="GET",status="503"', 50)]  # by design
    test_rules(rules, loading, [alert("DockyardHighErrorRate", "15m")])


def test_drift_alerts_at_the_spec_thresholds(spec: Spec, tmp_path: Path) -> None:
    rules = write_rules(spec, tmp_path)  # psi_threshold 0.25, ks_threshold 0.3
    labels = 'kind="numeric",window="500"'
    series = [
        {"series": f'dockyard_input_drift_psi{{{JOB},feature="x[1]",{labels}}}',
         "values": "0.2x30"},
        {"series": f'dockyard_input_drift_psi{{{JOB},feature="x[2]",{labels}}}',
         "values": "0.1x5 0.3x25"},
        {"series": f'dockyard_input_drift_ks{{{JOB},feature="x[2]",{labels}}}',
         "values": "0.29x5 0.31x25"},
    ]  # fmt: skip
    firing = [{"severity": "warning", "feature": "x[2]"}]
    test_rules(rules, series, [
        alert("DockyardInputDrift", "8m"),
        alert("DockyardInputDrift", "12m", firing),
        alert("DockyardInputDriftKS", "12m", firing),
    ])  # fmt: skip


def histogram(name: str, labels: str, le_rates: dict[str, float]) -> list[dict[str, str]]:
    """Cumulative buckets growing at the given per-minute rates."""
    return [
        {"series": f'{name}_bucket{{{JOB},{labels}le="{le}"}}', "values": f"0+{rate}x30"}
        for le, rate in le_rates.items()
    ]


def test_latency_p95_against_the_spec_slo(spec: Spec, tmp_path: Path) -> None:
    rules = write_rules(spec, tmp_path)  # digits: gate.latency_p95_ms = 250
    slow = histogram("dockyard_request_duration_seconds", 'route="/predict",',
                     {"0.1": 50, "0.25": 60, "0.5": 100, "+Inf": 100})  # fmt: skip
    test_rules(rules, slow, [alert("DockyardLatencyP95AboveSLO", "15m", [{"severity": "warning"}])])
    fast = histogram("dockyard_request_duration_seconds", 'route="/predict",',
                     {"0.1": 97, "0.25": 100, "0.5": 100, "+Inf": 100})  # fmt: skip
    test_rules(rules, fast, [alert("DockyardLatencyP95AboveSLO", "15m")])


def test_queue_wait_alert(spec: Spec, tmp_path: Path) -> None:
    rules = write_rules(spec, tmp_path)
    stuck = histogram("dockyard_queue_wait_seconds", "", {"1": 10, "5": 100, "+Inf": 100})
    test_rules(rules, stuck, [alert("DockyardQueueWaitHigh", "15m", [{"severity": "warning"}])])


def test_canary_quality_and_coverage_alerts(spec: Spec, tmp_path: Path) -> None:
    rules = write_rules(spec, tmp_path)
    version = 'version="1",window="1000"'
    series = [
        {"series": f"dockyard_canary_ok{{{JOB}}}", "values": "1x5 0x20"},
        {"series": f'dockyard_feedback_score{{{JOB},{version},metric="accuracy"}}',
         "values": "0.97x10 0.90x20"},  # below the gate's 0.95
        {"series": f"dockyard_feedback_coverage{{{JOB},{version}}}", "values": "0.5x10 0.1x20"},
        {"series": f'dockyard_prediction_drift_baseline_psi{{{JOB},feature="label",'
                   f'kind="categorical",window="500"}}', "values": "0.05x30"},
    ]  # fmt: skip
    test_rules(rules, series, [
        alert("DockyardCanaryFailing", "5m"),
        alert("DockyardCanaryFailing", "8m", [{"severity": "critical"}]),
        alert("DockyardQualityBelowGate", "9m"),
        alert("DockyardQualityBelowGate", "20m", [{"severity": "critical", "version": "1"}]),
        alert("DockyardLabelCoverageLow", "20m", [{"severity": "warning", "version": "1"}]),
        alert("DockyardPredictionDrift", "20m"),
    ])  # fmt: skip


def test_worker_heartbeat_alert(tmp_path: Path) -> None:
    spec = load_spec(digits(tmp_path / "digits", "[worker]\nenabled = true\n"))
    rules = write_rules(spec, tmp_path)
    series = [{"series": f'dockyard_worker_heartbeat_age_seconds{{{JOB},instance="w1"}}',
               "values": "1x5 120x10"}]  # fmt: skip
    test_rules(rules, series, [
        alert("DockyardWorkerHeartbeatStale", "5m"),
        alert("DockyardWorkerHeartbeatStale", "9m", [{"severity": "critical"}]),
    ])  # fmt: skip


def test_rules_without_an_slo_or_gate_leave_those_alerts_out(tmp_path: Path) -> None:
    spec = load_spec(REPO / "examples" / "embed")
    names = {r["alert"] for g in render_rules(spec)["groups"] for r in g["rules"]}
    if spec.gate.threshold is None:
        assert "DockyardQualityBelowGate" not in names
    assert "DockyardLabelCoverageLow" not in names
    assert "DockyardInputDrift" in names


def _subset(ours: Any, theirs: Any, where: str = "dashboard") -> list[str]:
    """Where `ours` has a key or value that Grafana's model dropped or changed."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [f"{where}: not an object in the model"]
        return [p for k, v in ours.items() for p in (
            _subset(v, theirs[k], f"{where}.{k}") if k in theirs else [f"{where}.{k}: unknown"]
        )]  # fmt: skip
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [f"{where}: list changed"]
        return [p for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
                for p in _subset(a, b, f"{where}[{i}]")]  # fmt: skip
    return [] if ours == theirs else [f"{where}: {ours!r} became {theirs!r}"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_dashboard_matches_grafanas_dashboard_model(example: str) -> None:
    ours = render_dashboard(load_spec(REPO / "examples" / example))
    theirs = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
    assert _subset(ours, theirs) == []
    exprs = [t["expr"] for p in ours["panels"] for t in p["targets"]]
    assert all('job="' in e for e in exprs)
    assert len({p["id"] for p in ours["panels"]}) == len(ours["panels"])


@pytest.mark.parametrize("example", ["digits", "stack/redis"])
def test_promtool_accepts_the_stacks_prometheus_config(example: str, tmp_path: Path) -> None:
    spec = load_spec(REPO / "examples" / example)
    write_rules(spec, tmp_path)
    config = tmp_path / PROMETHEUS_CONFIG
    config.write_text(yaml.safe_dump(render_prometheus_config(spec)))
    done = subprocess.run(
        [promtool(), "check", "config", str(config)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    overlay = render_monitoring_overlay(spec, str(tmp_path), "dockyard-local/prometheus:x")
    service = overlay["services"]["prometheus"]
    assert service["read_only"] is True and service["ports"][0]["host_ip"] == "127.0.0.1"
    assert ("back" in service["networks"]) == spec.worker.enabled
