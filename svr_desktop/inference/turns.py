"""Turned copies of the input image, whose predicted depth layers the field averages (issue 13).

The network's depth is unsteady under small in-plane turns of its input:
the same view turned by 10 degrees gave fields whose IoU against the true
part differed by up to 0.29 on single dev meshes, without a preferred
angle (docs/method.md, "Turned copies of the input").  A turn about the
view axis keeps the part's depth, its place and its size in the frame, so
every copy answers the same question, and the average of their layered
depth is steadier than any one of them: with five copies (0, +-8, +-16
degrees) the dev meshes' IoU rose from 0.511 to 0.527 (full pipeline,
128^3).  Scaled copies do not answer the same question (how much of the
frame the part fills is a cue to its depth) and lost IoU.

A copy turned by ``theta`` shows the part turned by ``theta`` about the view
axis, so its maps at ``M p`` describe the original part at ``p``
(:mod:`svr_desktop.geometry.image_turns`, which training uses too).
"""

from __future__ import annotations

#: Angle between neighbouring copies.  Small, so that the key light of the
#: photo moves little and a part framed like a training render stays in the
#: frame; larger sets (+-24 degrees) gained no more.
TURN_STEP_DEGREES = 8.0
#: Copies read by default: the image as given and turned by +-8 and +-16 degrees.
DEFAULT_TURNS = 5
#: Most copies a reconstruction may ask for (turns up to +-32 degrees).
MAX_TURNS = 9


def turn_angles(count: int) -> tuple[float, ...]:
    """The first ``count`` angles (degrees) of 0, +8, -8, +16, -16, ...: the image as given comes first."""
    if not 1 <= count <= MAX_TURNS:
        raise ValueError(f"turns must be from 1 to {MAX_TURNS}, got {count}")
    turned = (TURN_STEP_DEGREES * ((k + 1) // 2) * (1 if k % 2 else -1) for k in range(1, count))
    return (0.0, *turned)
