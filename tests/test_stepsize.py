"""The subgradient step-size factor (broker.solve.stepsize), by hand."""

from __future__ import annotations

from broker.solve.stepsize import StepFactor


def test_theta_halves_after_patience_steps_without_a_better_bound():
    f = StepFactor(patience=2, best=10.0)
    assert f.record(9.0) and f.best == 9.0 and f.theta == 1.0
    assert not f.record(9.0)  # equal is not better
    assert not f.record(9.5) and f.theta == 0.5 and f.since == 0
    assert f.record(8.0) and f.theta == 0.5 and f.since == 0
    assert not f.record(8.0 - 1e-12)  # within the tolerance: not better
    assert not f.record(8.1) and f.theta == 0.25


def test_the_first_bound_is_the_best_when_none_is_known():
    f = StepFactor(patience=5)
    assert f.record(1e12) and f.best == 1e12
