"""Where the part is in a photo, according to the network itself (issue 14).

A network with a layered-depth head (``ModelConfig.depth_head``) predicts,
for every pixel of its input, whether its ray meets the part: the validity
of the first layer.  It learned that on renders with backgrounds, shadows
and clutter whose silhouettes are exact, so it is a segmenter trained for
free.  :class:`NetworkSegmenter` turns it into a probability map of a whole
photo, in two passes because the network expects the part framed like a
training render: the first pass sees the whole photo (padded to a square),
the second a square around what the first found, sized so that the part
fills it as in training.  When the first pass found several separate regions
(on a cluttered bench: the part, distractors, patches of bench), the second
pass looks at each hypothesis of :func:`part_hypotheses` and keeps the map in
which the network believes its region most.
:func:`.preprocess.silhouette_mask` then sharpens the map's edges with
GrabCut at photo resolution.

Every pass looks at the photo twice, as it is and mirrored left to right,
and averages the two maps (test-time augmentation: a mirrored part is as
plausible a part, and where the two views disagree the average stays near
0.5 instead of committing to one view's mistake).  Both views are first
lifted toward the training renders' exposure (:func:`.exposure.exposure_lift`:
a dim view is scaled up to white, then every view brightened by a gamma of
0.7): a dark part on a dark ground is where the network loses the part; the
lift keeps light parts and grounds nearly where they were
(docs/photo_path.md).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..model.images import image_to_tensor
from ..model.layered_depth_head import decode_layers
from ..model.network import SVRNet
from .exposure import EXPOSURE_GAMMA, exposure_lift
from .preprocess import DEFAULT_FILL_FRACTION

#: At most this many regions of the first pass, the heaviest, are tried alone as the part.
MAX_PART_HYPOTHESES = 3
#: A region of less than this fraction of the heaviest region's probability mass is not tried.
MIN_HYPOTHESIS_MASS = 0.1


class NetworkSegmenter:
    """``segmenter(rgb)`` -> (H, W) float32 probability that each pixel shows the part."""

    def __init__(
        self, model: SVRNet, device: torch.device | str = "cpu",
        gamma: float = EXPOSURE_GAMMA, mirror: bool = True,
    ):
        if not model.config.depth_head:
            raise ValueError("this model has no layered-depth head to find the part with")
        self.model = model
        self.device = device
        self.gamma = gamma
        self.mirror = mirror

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        side = max(height, width)
        whole = self._square(rgb, (width - side) / 2.0, (height - side) / 2.0, side)
        best, best_belief = whole, -1.0
        for region in part_hypotheses(whole):
            seen = self._framed_on(rgb, region)
            # How much the network, shown this region framed as in training, believes it is the part.
            belief = float(seen[region].mean())
            if belief > best_belief:
                best, best_belief = seen, belief
        return best

    def _framed_on(self, rgb: np.ndarray, region: np.ndarray) -> np.ndarray:
        """The map of a square around ``region`` in which it fills the image as a part fills a render."""
        rows, cols = np.nonzero(region)
        centre_x, centre_y = (cols.min() + cols.max() + 1) / 2.0, (rows.min() + rows.max() + 1) / 2.0
        extent = max(cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min())
        side = extent / DEFAULT_FILL_FRACTION
        return self._square(rgb, centre_x - side / 2.0, centre_y - side / 2.0, side)

    def _square(self, rgb: np.ndarray, x0: float, y0: float, side: float) -> np.ndarray:
        """The probability map of the photo, seen through the square ``(x0, y0, side)``.

        Outside the photo the square is filled by repeating the photo's
        edge, which looks like more background; outside the square the map
        is 0 (the network did not look there).
        """
        size = self.model.config.image_size
        height, width = rgb.shape[:2]
        scale = size / side
        # photo -> network-input pixels: translate the square's corner to 0, then scale
        to_input = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]])
        smoothed = cv2.GaussianBlur(rgb, (0, 0), sigmaX=0.5 / scale) if scale < 0.5 else rgb  # against aliasing
        view = cv2.warpAffine(smoothed, to_input, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if self.gamma != 1.0:
            view = exposure_lift(view, self.gamma)
        batch = image_to_tensor(np.ascontiguousarray(view), size, self.device)
        if self.mirror:
            batch = torch.cat([batch, torch.flip(batch, dims=[3])])
        with torch.no_grad():
            encoded = self.model.encode(batch)
            logit = decode_layers(encoded.layers, self.model.config.depth_layers).valid_logit[:, :1]
            probability = torch.sigmoid(torch.nn.functional.interpolate(logit.float(), size=(size, size), mode="bilinear", align_corners=False))
        if self.mirror:
            probability = (probability[:1] + torch.flip(probability[1:], dims=[3])) / 2.0
        probability = probability[0, 0].cpu().numpy()
        back = cv2.warpAffine(
            probability, to_input, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )
        return back.astype(np.float32)


def part_hypotheses(probability: np.ndarray) -> list[np.ndarray]:
    """Where the part may be in a first-pass map: (H, W) bool regions to frame the second pass on.

    One region of ``probability >= 0.5`` is the only hypothesis; with several,
    all of them together (a part that the small first view broke into pieces)
    and each of the :data:`MAX_PART_HYPOTHESES` heaviest alone (probability
    mass: the sum of its probabilities; lighter than :data:`MIN_HYPOTHESIS_MASS`
    of the heaviest: not tried).  Framing the second pass around a part and the
    distractors beside it shows the part smaller than in training and can let a
    larger distractor win the mask (docs/photo_path.md: a shaft beside two bars
    got an empty mask).  None found: no hypothesis.
    """
    found = probability >= 0.5
    count, labels = cv2.connectedComponents(found.astype(np.uint8), connectivity=8)
    if count <= 2:
        return [found] if count == 2 else []
    mass = np.bincount(labels.ravel(), weights=probability.ravel(), minlength=count)[1:]
    heaviest = np.argsort(-mass, kind="stable")[:MAX_PART_HYPOTHESES]
    return [found] + [labels == index + 1 for index in heaviest if mass[index] >= MIN_HYPOTHESIS_MASS * mass[heaviest[0]]]
