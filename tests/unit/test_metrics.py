import numpy as np

from logsynergy.metrics import best_threshold, prf


def test_prf_counts_weights():
    labels = np.array([1, 1, 0, 0])
    predicted = np.array([1, 0, 1, 0])
    assert prf(labels, predicted).f1 == 0.5
    weighted = prf(labels, predicted, np.array([3, 1, 1, 5]))
    assert weighted.tp == 3 and weighted.fp == 1 and weighted.fn == 1
    assert abs(weighted.precision - 0.75) < 1e-9


def test_best_threshold_separates_perfectly_when_possible():
    scores = np.array([0.1, 0.2, 0.35, 0.6, 0.7, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    threshold, f1 = best_threshold(scores, labels)
    assert f1 == 1.0
    assert 0.35 < threshold <= 0.6
    assert prf(labels, scores >= threshold).f1 == 1.0


def test_best_threshold_without_anomalies_falls_back():
    assert best_threshold(np.array([0.2, 0.9]), np.array([0, 0])) == (0.5, 0.0)


def test_ties_are_never_split():
    scores = np.array([0.5, 0.5, 0.5, 0.1])
    labels = np.array([1, 0, 1, 0])
    threshold, f1 = best_threshold(scores, labels)
    assert prf(labels, scores >= threshold).f1 == f1
