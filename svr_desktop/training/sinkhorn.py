"""An earth mover's distance for training: entropic optimal transport by log-domain Sinkhorn.

The exact EMD between two sets of ``N`` points is an assignment problem
(cubic in ``N``; ``svr_desktop.geometry.metrics.emd_of_points`` solves it for
evaluation), far too slow for every training step.  Entropy-regularized
transport (Cuturi 2013) is solved by Sinkhorn's alternating updates of two
dual potentials ``f, g``; with uniform weights ``1/N`` its plan ``P`` tends to
the optimal assignment (scaled by ``1/N``) as the regularization ``eps``
shrinks, so ``sum(P * C)`` over the cost ``C_ij = |x_i - y_j|`` tends to the
EMD's mean matched distance.

Two standard devices make small ``eps`` work (as in geomloss, Feydy et al.
2019): the updates run on log-sum-exps of potentials (the kernel
``exp(-C / eps)`` underflows to 0 in float32 once ``C / eps`` passes ~100),
and ``eps`` is annealed from the cost's diameter down to ``blur`` by a factor
``scaling`` per iteration, then held at ``blur`` for ``final_iterations``:
each stage starts from the last one's nearly converged potentials.

A few dozen iterations do not converge on point sets like ours (thousands
of near-ties; Sinkhorn needs about ``cost / eps`` iterations): the last
plan's row sums can be off by 20-40 %, and its cost then lies up to 20 %
*below* the EMD.  So the plan is **rounded** onto the feasible set
(Altschuler, Weed & Rigollet 2017, Alg. 2: scale overfull rows and columns
down, give the missing mass back as a rank-one term).  A feasible plan costs
at least the optimum, so the estimate is an upper bound of the EMD; with the
defaults (blur 0.005 normalized units; scaling 0.8; 20 final iterations:
about 45 iterations) it was 3-23 % above the exact EMD on 36 box-surface
pairs of 200 and 512 points with 0.005-0.05 noise, and
``tests/test_pointcloud_method.py`` holds it within 25 %.

The plan is computed without autograd; the loss ``sum(P * C)`` then carries
the gradient through ``C`` only, which is the gradient of the regularized
transport cost at the optimum (the potentials' own gradients vanish there,
the envelope theorem), at the memory of one cost matrix instead of a graph
through every iteration.
"""

from __future__ import annotations

import math

import torch

#: Regularization at the end of the annealing, in normalized units.
DEFAULT_BLUR = 0.005
#: Factor by which eps shrinks per annealing iteration.
DEFAULT_SCALING = 0.8
#: Iterations at eps = blur after the annealing.
DEFAULT_FINAL_ITERATIONS = 20


def annealing_schedule(diameter: float, blur: float, scaling: float, final_iterations: int) -> list[float]:
    """The eps of each iteration: ``diameter * scaling^k`` while above ``blur``, then ``blur`` repeated."""
    if not (blur > 0 and 0 < scaling < 1 and final_iterations >= 1):
        raise ValueError(f"Sinkhorn needs blur > 0, 0 < scaling < 1 and final_iterations >= 1, got {blur}, {scaling}, {final_iterations}")
    schedule = []
    eps = max(float(diameter), blur)
    while eps > blur:
        schedule.append(eps)
        eps *= scaling
    return schedule + [blur] * final_iterations


@torch.no_grad()
def sinkhorn_plan(
    cost: torch.Tensor,
    blur: float = DEFAULT_BLUR,
    scaling: float = DEFAULT_SCALING,
    final_iterations: int = DEFAULT_FINAL_ITERATIONS,
) -> torch.Tensor:
    """The entropic transport plan (B, N, M) between uniform weights for a cost (B, N, M), rounded
    to be feasible: rows sum to ``1/N`` and columns to ``1/M`` (up to float error)."""
    cost = cost.float()
    batch, n, m = cost.shape
    log_a, log_b = -math.log(n), -math.log(m)
    f = cost.new_zeros(batch, n)
    g = cost.new_zeros(batch, m)
    # One reused (B, N, M) buffer: the updates are memory-bound, and fresh temporaries
    # for every term of every iteration cost more than the arithmetic.
    buffer = torch.empty_like(cost)
    for eps in annealing_schedule(float(cost.max()), blur, scaling, final_iterations):
        f = -eps * (torch.logsumexp(torch.sub(g[:, None, :], cost, out=buffer).div_(eps), dim=2) + log_b)
        g = -eps * (torch.logsumexp(torch.sub(f[:, :, None], cost, out=buffer).div_(eps), dim=1) + log_a)
    return round_to_marginals(torch.exp((f[:, :, None] + g[:, None, :] - cost) / eps + log_a + log_b))


def round_to_marginals(plan: torch.Tensor) -> torch.Tensor:
    """The nearby plan with uniform marginals (Altschuler et al. 2017, Alg. 2): a feasible coupling."""
    batch, n, m = plan.shape
    plan = plan * (1.0 / n / plan.sum(dim=2)).clamp(max=1.0)[:, :, None]
    plan = plan * (1.0 / m / plan.sum(dim=1)).clamp(max=1.0)[:, None, :]
    # Never negative in exact arithmetic; the clamp keeps float error from making negative mass.
    row_missing = (1.0 / n - plan.sum(dim=2)).clamp_min(0.0)
    column_missing = (1.0 / m - plan.sum(dim=1)).clamp_min(0.0)
    total = row_missing.sum(dim=1).clamp_min(1e-30)[:, None, None]
    return plan + row_missing[:, :, None] * column_missing[:, None, :] / total


def sinkhorn_emd(
    x: torch.Tensor,
    y: torch.Tensor,
    blur: float = DEFAULT_BLUR,
    scaling: float = DEFAULT_SCALING,
    final_iterations: int = DEFAULT_FINAL_ITERATIONS,
) -> torch.Tensor:
    """Approximate EMD (B,) between point sets ``x`` (B, N, 3) and ``y`` (B, M, 3): the mean
    transported Euclidean distance under the entropic plan, differentiable in both sets."""
    cost = torch.cdist(x.float(), y.float())
    plan = sinkhorn_plan(cost, blur, scaling, final_iterations)
    return (plan * cost).sum(dim=(1, 2))
