"""Training targets: binary labels, the paper's adaptive labels v(d, s), SDF.

``v(d, s) = -s * log(m * d + n)`` for ``0 <= d <= d*`` and 0 beyond, with
``n = exp(-1/s)`` and ``m = (1 - n) / d*`` (DESIGN.md 1.1).  These constants
follow from the paper's constraints (eq. 7) ``v(0, s) = 1`` and
``v(d*, s) = 0``; the printed eq. 8 does not satisfy them.  ``d`` is in voxel
units of the sampling grid and is 0 for inside points, whose label is always
1.  Small ``s`` gives nearly binary (sharp) labels, large ``s`` soft ones.

:class:`AdaptiveS` is the training-status controller of paper section 4.2:
``s`` starts from the F1 score of random guessing and follows the best F1 the
network has reached.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Radius of the labelled neighbourhood in voxels: the paper's 5x5x5 voxel
#: neighbourhood as a sphere of equal volume, 5^(3/5) ~= 2.63.
D_STAR = 5.0 ** 0.6

LABEL_MODES = ("binary", "fixed", "adaptive", "sdf")


def soft_label(distance: np.ndarray, s: float, d_star: float = D_STAR) -> np.ndarray:
    """v(d, s) for outside distances ``d`` (voxels); 1 at d = 0, 0 from d* on."""
    if not 0.0 < s < 1.0:
        raise ValueError(f"s must lie in (0, 1), got {s}")
    d = np.asarray(distance, dtype=np.float64)
    n = np.exp(-1.0 / s)
    m = (1.0 - n) / d_star
    inside_band = d <= d_star
    v = np.zeros_like(d)
    v[inside_band] = -s * np.log(m * np.clip(d[inside_band], 0.0, None) + n)
    return np.clip(v, 0.0, 1.0)


def label_targets(
    distance: np.ndarray,
    inside: np.ndarray,
    mode: str,
    s: float | None = None,
    voxel_resolution: int = 256,
) -> np.ndarray:
    """Per-point targets for a label mode.

    * ``binary``: 1 inside, 0 outside.
    * ``fixed`` / ``adaptive``: v(d, s) with d = 0 inside (``s`` required; the
      two modes differ only in who chooses ``s``).
    * ``sdf``: signed distance in normalized units, *positive inside*, so that
      "inside" is "value above the iso-level" for every mode (iso-level 0).
    """
    inside = np.asarray(inside, dtype=bool)
    distance = np.asarray(distance, dtype=np.float64)
    if mode == "binary":
        return inside.astype(np.float32)
    if mode in ("fixed", "adaptive"):
        if s is None:
            raise ValueError(f"label mode '{mode}' needs s")
        return soft_label(np.where(inside, 0.0, distance), s).astype(np.float32)
    if mode == "sdf":
        return (np.where(inside, distance, -distance) / voxel_resolution).astype(np.float32)
    raise ValueError(f"unknown label mode '{mode}' (choose from {', '.join(LABEL_MODES)})")


def f1_from_counts(tp: int, fp: int, fn: int) -> float:
    """F1 = 2tp / (2tp + fp + fn); 0 when there is nothing to score."""
    denominator = 2 * tp + fp + fn
    return 0.0 if denominator == 0 else 2.0 * tp / denominator


def confusion_counts(predicted_inside: np.ndarray, inside: np.ndarray) -> tuple[int, int, int]:
    """(tp, fp, fn) of inside predictions against the true inside flags."""
    predicted_inside = np.asarray(predicted_inside, dtype=bool)
    inside = np.asarray(inside, dtype=bool)
    tp = int(np.count_nonzero(predicted_inside & inside))
    fp = int(np.count_nonzero(predicted_inside & ~inside))
    fn = int(np.count_nonzero(~predicted_inside & inside))
    return tp, fp, fn


def update_interval(total_epochs: int, fraction: float = 0.2) -> int:
    """Epochs between s updates as a fraction of the run (paper: 10 of 50).

    A fixed count would never fire in a short CPU run; a fraction keeps the
    number of updates the same whatever the run length.
    """
    return max(1, int(round(total_epochs * fraction)))


@dataclass
class AdaptiveS:
    """The adaptive label sharpness ``s`` (paper section 4.2, DESIGN 1.1).

    Start: with ``r`` the share of positive samples, random guessing scores
    ``f1_0 = 2r / (1 + 2r)`` and ``s = 1 - lam * f1_0``.  Every
    ``update_every`` epochs the training F1 is offered; only an improvement on
    the best F1 so far moves ``s`` to ``1 - lam * f1``.  ``s`` is clamped to
    ``[s_min, s_max]`` because F1 above 2/3 would otherwise make it negative.
    """

    s: float
    best_f1: float
    update_every: int = 1
    lam: float = 1.5
    s_min: float = 0.05
    s_max: float = 0.95

    @classmethod
    def from_positive_ratio(
        cls,
        r: float,
        update_every: int = 1,
        lam: float = 1.5,
        s_min: float = 0.05,
        s_max: float = 0.95,
    ) -> "AdaptiveS":
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"positive ratio must lie in [0, 1], got {r}")
        if not 0.0 < s_min <= s_max < 1.0:
            raise ValueError("need 0 < s_min <= s_max < 1")
        f1_0 = 2.0 * r / (1.0 + 2.0 * r)
        controller = cls(s=0.0, best_f1=f1_0, update_every=max(1, int(update_every)), lam=lam, s_min=s_min, s_max=s_max)
        controller.s = controller._s_for(f1_0)
        return controller

    def _s_for(self, f1: float) -> float:
        return float(np.clip(1.0 - self.lam * f1, self.s_min, self.s_max))

    def is_due(self, epoch: int) -> bool:
        """Whether the F1 of the epoch just finished (1-based) should be offered."""
        return epoch > 0 and epoch % self.update_every == 0

    def offer(self, f1: float) -> bool:
        """Offer a training F1; True if it is a new best (then ``s`` follows it)."""
        if f1 <= self.best_f1:
            return False
        self.best_f1 = float(f1)
        self.s = self._s_for(f1)
        return True

    def state_dict(self) -> dict:
        """Plain-number state for checkpoints (JSON-serializable)."""
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict) -> "AdaptiveS":
        return cls(**{key: state[key] for key in cls.__dataclass_fields__})
