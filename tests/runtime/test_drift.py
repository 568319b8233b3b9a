"""Prediction drift scores: zero for the same distribution, large for a shifted one."""

from __future__ import annotations

from dockyard.runtime.drift import DriftMonitor


def test_no_score_before_the_reference_window_fills() -> None:
    monitor = DriftMonitor(window=10)
    monitor.observe(["a"] * 9)
    assert monitor.psi() is None


def test_same_distribution_is_stable() -> None:
    monitor = DriftMonitor(window=100)
    monitor.observe(["a", "b"] * 50)
    monitor.observe(["b", "a"] * 50)
    psi = monitor.psi()
    assert psi is not None and psi < 0.01


def test_shifted_distribution_drifts() -> None:
    monitor = DriftMonitor(window=100)
    monitor.observe(["a", "b"] * 50)
    monitor.observe(["a"] * 90 + ["c"] * 10)
    psi = monitor.psi()
    assert psi is not None and psi > 0.25
