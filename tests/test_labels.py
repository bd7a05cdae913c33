"""The label formulas of DESIGN 1.1 and the adaptive-s controller."""

import numpy as np
import pytest

from svr_desktop.geometry.labels import (
    D_STAR,
    AdaptiveS,
    confusion_counts,
    f1_from_counts,
    label_targets,
    soft_label,
    update_interval,
)

S_VALUES = [0.05, 0.1, 0.25, 0.5, 0.7, 0.9, 0.99]


def test_d_star_is_the_5x5x5_neighbourhood():
    assert D_STAR == pytest.approx(2.6265, abs=1e-4)


@pytest.mark.parametrize("s", S_VALUES)
def test_constraints_of_eq7(s):
    assert soft_label(np.array([0.0]), s)[0] == pytest.approx(1.0, abs=1e-12)
    assert soft_label(np.array([D_STAR]), s)[0] == pytest.approx(0.0, abs=1e-12)
    assert soft_label(np.array([D_STAR * 1.0001, 10.0, 300.0]), s).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("s", S_VALUES)
def test_strictly_decreasing_and_convex_on_the_band(s):
    d = np.linspace(0.0, D_STAR, 401)
    v = soft_label(d, s)
    first = np.diff(v)
    second = np.diff(v, 2)
    assert np.all(first < 0)
    assert np.all(second > 0)


def test_closed_form_value():
    s, d = 0.5, 1.0
    n = np.exp(-1 / s)
    m = (1 - n) / D_STAR
    assert soft_label(np.array([d]), s)[0] == pytest.approx(-s * np.log(m * d + n))


def test_small_s_is_sharper_than_large_s():
    d = np.array([0.5, 1.0, 2.0])
    assert np.all(soft_label(d, 0.1) < soft_label(d, 0.9))


@pytest.mark.parametrize("s", [0.0, 1.0, -0.2, 1.5])
def test_s_outside_open_interval_is_rejected(s):
    with pytest.raises(ValueError):
        soft_label(np.array([1.0]), s)


def test_targets_per_mode():
    distance = np.array([0.0, 3.0, 1.0, 1.0, 50.0])
    inside = np.array([True, True, False, True, False])
    assert label_targets(distance, inside, "binary").tolist() == [1, 1, 0, 1, 0]
    for mode in ("fixed", "adaptive"):
        v = label_targets(distance, inside, mode, s=0.5)
        # inside points are always fully positive, whatever their distance
        assert v[[0, 1, 3]].tolist() == [1.0, 1.0, 1.0]
        assert 0.0 < v[2] < 1.0 and v[4] == 0.0
    sdf = label_targets(distance, inside, "sdf", voxel_resolution=256)
    np.testing.assert_allclose(sdf, np.array([0, 3, -1, 1, -50]) / 256, rtol=1e-6)


def test_soft_modes_need_s_and_unknown_mode_fails():
    with pytest.raises(ValueError, match="needs s"):
        label_targets(np.zeros(2), np.zeros(2, bool), "adaptive")
    with pytest.raises(ValueError, match="unknown label mode"):
        label_targets(np.zeros(2), np.zeros(2, bool), "fuzzy")


def test_f1_and_confusion_counts():
    pred = np.array([1, 1, 0, 0, 1], bool)
    true = np.array([1, 0, 1, 0, 1], bool)
    assert confusion_counts(pred, true) == (2, 1, 1)
    assert f1_from_counts(2, 1, 1) == pytest.approx(4 / 6)
    assert f1_from_counts(0, 0, 0) == 0.0


def test_initial_s_from_positive_ratio():
    r = 0.3
    controller = AdaptiveS.from_positive_ratio(r)
    f1_0 = 2 * r / (1 + 2 * r)
    assert controller.best_f1 == pytest.approx(f1_0)
    assert controller.s == pytest.approx(1 - 1.5 * f1_0)


def test_s_sequence_for_a_scripted_f1_series():
    controller = AdaptiveS.from_positive_ratio(0.25, update_every=2)  # f1_0 = 1/3, s = 0.5
    assert controller.s == pytest.approx(0.5)
    f1_series = [0.2, 0.4, 0.35, 0.5, 0.5, 0.6, 0.9, 0.8]
    sequence = []
    for epoch, f1 in enumerate(f1_series, start=1):
        if controller.is_due(epoch):
            controller.offer(f1)
        sequence.append(controller.s)
    # due at epochs 2, 4, 6, 8 with F1 0.4, 0.5, 0.6, 0.8:
    # 0.4 > 1/3 -> 0.4; 0.5 -> 0.25; 0.6 -> 0.1; 0.8 -> clamp(-0.2) = s_min
    expected = [0.5, 0.4, 0.4, 0.25, 0.25, 0.1, 0.1, 0.05]
    np.testing.assert_allclose(sequence, expected)


def test_only_improvements_move_s_and_clamp_holds():
    controller = AdaptiveS.from_positive_ratio(0.05, s_min=0.1, s_max=0.8)
    assert controller.s == pytest.approx(0.8)  # 1 - 1.5 * 0.0909 = 0.86 -> clamped
    assert controller.offer(0.5) is True
    s_after = controller.s
    assert controller.offer(0.3) is False and controller.s == s_after
    for f1 in np.linspace(0.5, 1.0, 20):
        controller.offer(f1)
        assert 0.1 <= controller.s <= 0.8
    assert controller.s == pytest.approx(0.1)


def test_state_round_trip():
    controller = AdaptiveS.from_positive_ratio(0.4, update_every=3)
    controller.offer(0.55)
    restored = AdaptiveS.from_state_dict(controller.state_dict())
    assert restored == controller


def test_update_interval_is_a_fraction_of_the_run():
    assert update_interval(50) == 10
    assert update_interval(3) == 1
    assert update_interval(20, fraction=0.25) == 5
