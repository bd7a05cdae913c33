"""Turning a view about its axis: the image, its dense maps and the view-frame points alike.

A view turned by ``theta`` about the view axis (counter-clockwise as the
camera sees it) is again a fair view: the part keeps its depth, its place
and its size in the frame.  Its image shows view-frame point ``p`` where the
original showed ``M^-1 p``; equivalently the part at ``p`` appears at
``M p``, with ``M = D^-1 R(theta) D`` acting on ``(x, y)`` and
``D = diag(a, b)`` the projection's scales (``M = R(theta)`` when
``a = b``).  Depth (``z``) is untouched.

Two users: the reconstruction reads turned copies of its input and averages
their depth layers (:mod:`svr_desktop.inference.turns`), and training turns
views at random so that the network sees every part at many more angles
(:mod:`svr_desktop.data.dataset`).
"""

from __future__ import annotations

import cv2
import numpy as np


def _rotation_about_centre(side: int, degrees: float) -> np.ndarray:
    centre = (side - 1) / 2  # pixel centres: the view axis passes through the middle of the frame
    return cv2.getRotationMatrix2D((centre, centre), degrees, 1.0)


def turn_image(image: np.ndarray, degrees: float) -> np.ndarray:
    """A square (S, S, 3) uint8 image turned counter-clockwise by ``degrees`` about its centre.

    Corners that come from outside the frame repeat the nearest edge pixel:
    a render's or prepared photo's plain background continues.
    """
    if degrees == 0:
        return image
    side = image.shape[0]
    matrix = _rotation_about_centre(side, degrees)
    return cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def turn_maps(maps: np.ndarray, degrees: float, fill: float = 0.0) -> np.ndarray:
    """(C, D, D) float32 per-pixel maps turned like :func:`turn_image`, each pixel taking its nearest source pixel.

    Nearest, not bilinear: a map of depth layers or layer counts must not
    blend a part's depth with the background's across its outline.  Pixels
    from outside the frame get ``fill`` (for depth layers: no layer).
    """
    if degrees == 0:
        return maps
    side = maps.shape[-1]
    matrix = _rotation_about_centre(side, degrees)
    channels_last = np.ascontiguousarray(maps.transpose(1, 2, 0))
    # OpenCV warps at most four channels at a time.
    turned = [
        cv2.warpAffine(channels_last[..., start : start + 4], matrix, (side, side), flags=cv2.INTER_NEAREST,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=(fill,) * 4).reshape(side, side, -1)
        for start in range(0, maps.shape[0], 4)
    ]
    return np.concatenate(turned, axis=2).transpose(2, 0, 1)


def turn_matrix(degrees: float, a: float, b: float) -> np.ndarray:
    """(3, 3) ``M``: a turned copy shows view-frame point ``p`` where the image shows ``M p`` (as rows: ``p @ M.T``)."""
    angle = np.deg2rad(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    scales = np.diag([a, b])
    matrix = np.eye(3)
    matrix[:2, :2] = np.linalg.inv(scales) @ rotation @ scales
    return matrix


def turn_normals(normals: np.ndarray, degrees: float, a: float, b: float) -> np.ndarray:
    """(3, D, D) unit normals of the part at each pixel, as the turned part has them (not yet moved to the turned pixels).

    Points move by ``M``; normals by its inverse transpose, renormalized (the
    two agree when ``a = b``).  Zero normals (no part) stay zero.
    """
    if degrees == 0:
        return normals
    inverse_transpose = np.linalg.inv(turn_matrix(degrees, a, b)).T
    turned = np.einsum("ij,jhw->ihw", inverse_transpose, normals.astype(np.float64))
    length = np.linalg.norm(turned, axis=0, keepdims=True)
    return np.where(length > 0, turned / np.maximum(length, 1e-12), 0.0).astype(normals.dtype)
