"""Orthographic projection of view-frame points onto the image (paper eq. 5).

``p' = (a * p_x, b * p_y)`` in *normalized image coordinates*: ``[-1, 1]``
spans the whole image from the left edge of the first pixel column to the
right edge of the last one, which is exactly what
``torch.nn.functional.grid_sample(..., align_corners=False)`` expects.  Image
rows grow downwards while the view frame's y grows upwards, so the y term
carries a minus sign.

For a renderer whose orthographic view shows ``[-h, h]`` world units across
the image (``h`` = half-width), ``a = b = 1 / h``.  The data set stores the
``a, b`` of every view; this module is the single place that turns them into
sampling positions, used by the network and by the tests that guard the
convention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def project(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Normalized image coordinates of view-frame points.

    ``points``: (B, N, 3); ``a``, ``b``: (B,) or scalars.  Returns (B, N, 2)
    as ``(x, y)`` pairs ready for ``grid_sample``.
    """
    a = torch.as_tensor(a, dtype=points.dtype, device=points.device).reshape(-1, 1)
    b = torch.as_tensor(b, dtype=points.dtype, device=points.device).reshape(-1, 1)
    return torch.stack((a * points[..., 0], -b * points[..., 1]), dim=-1)


def sample_at(feature_map: torch.Tensor, uv: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Sample a (B, C, H, W) map at normalized coordinates ``uv`` (B, N, 2) -> (B, N, C).

    Points projecting outside the image read zeros (``padding_mode='zeros'``).
    """
    sampled = F.grid_sample(
        feature_map, uv.unsqueeze(1), mode=mode, padding_mode="zeros", align_corners=False
    )
    return sampled.squeeze(2).transpose(1, 2)
