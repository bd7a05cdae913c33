"""The reconstruction methods a user can pick, by name: one registry and the model factory.

``ModelConfig.method`` names one of :data:`METHODS`; :func:`get_model`
builds its network, and :func:`output_kind` says what that network outputs,
which a checkpoint needs to be meshed (iso 0.5 on occupancy probabilities,
iso 0 on signed distances) or to be written as a point cloud:

* ``jin2022``: the paper this application implements (FPN features +
  adaptive labels ``v(d, s)``) with its encoder and label variants, and its
  depth-guided variant (``depth_head`` / ``depth_guided``).  Its field
  follows the label mode: a signed distance when trained with ``sdf``
  labels, occupancy otherwise.
* ``occnet``: Occupancy Networks (:mod:`.occnet`); occupancy.
* ``disn``: DISN (:mod:`.disn`); signed distance.
* ``pointcloud``: the point-cloud network of reference 003
  (:mod:`.pointcloud`); no field but 2,048 points.  It trains without
  labels, so every label mode is accepted and ignored.
* ``d-occnet``: D-OccNet (reference 004, :mod:`.doccnet`): a trained
  ``occnet`` as stage 1, whose mesh is sampled into a point cloud for a
  PointNet + CBN stage 2; occupancy.  It is trained on top of an ``occnet``
  checkpoint (its ``stage_one`` method).

Checkpoints written before methods existed have no ``method`` key and load
as ``jin2022``, which is what they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from svr_desktop.geometry.labels import LABEL_MODES
from svr_desktop.model.config import ModelConfig
from svr_desktop.model.disn import DISN
from svr_desktop.model.doccnet import DOccNet
from svr_desktop.model.implicit import ImplicitNetwork
from svr_desktop.model.network import SVRNet
from svr_desktop.model.occnet import OccNet
from svr_desktop.model.pointcloud import PointCloudNet

#: What a network outputs: an occupancy probability field (iso 0.5), a signed
#: distance field (iso 0), or a point cloud (no field to mesh).
OUTPUT_KINDS = ("occupancy", "sdf", "points")

_OCCUPANCY_MODES = tuple(mode for mode in LABEL_MODES if mode != "sdf")


@dataclass(frozen=True)
class Method:
    """One selectable method: its network, what it outputs and what it trains with."""

    name: str
    summary: str  # one line for help texts and pickers
    network: type[ImplicitNetwork] | type[PointCloudNet]
    label_modes: tuple[str, ...]  # the label modes (labels.mode) it trains with
    output_kind: str | None  # one of OUTPUT_KINDS; None: follows the label mode
    depth_head: bool  # whether it can carry the layered-depth head (ModelConfig.depth_head)
    stage_one: str | None = None  # the method of the trained checkpoint it is built on, if any

    def output_kind_for(self, label_mode: str) -> str:
        """The field this method outputs when trained with ``label_mode`` (ValueError if it cannot be)."""
        if label_mode not in self.label_modes:
            *others, last = self.label_modes
            modes = f"{', '.join(others)} or {last}" if others else last
            raise ValueError(f"the {self.name} method trains with labels.mode {modes}, not {label_mode!r}")
        if self.output_kind is not None:
            return self.output_kind
        return "sdf" if label_mode == "sdf" else "occupancy"


#: The methods by name; the first is the default.
METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method(
            "jin2022",
            "Jin, Xu & Leng 2022: FPN local features, adaptive labels v(d, s) (optionally depth-guided)",
            SVRNet,
            LABEL_MODES,
            None,
            depth_head=True,
        ),
        Method("occnet", "Occupancy Networks: global image vector, CBN decoder, occupancy", OccNet, _OCCUPANCY_MODES, "occupancy", depth_head=False),
        Method("disn", "DISN: local + global features, two decoders summed, signed distance", DISN, ("sdf",), "sdf", depth_head=False),
        Method(
            "pointcloud",
            "Efficient feature maps + reparameterized latent (reference 003): 2,048 points, no surface",
            PointCloudNet,
            LABEL_MODES,
            "points",
            depth_head=False,
        ),
        Method(
            "d-occnet",
            "D-OccNet (reference 004): an occnet's mesh, sampled to 300 points, re-encoded by a PointNet; occupancy",
            DOccNet,
            _OCCUPANCY_MODES,
            "occupancy",
            depth_head=False,
            stage_one="occnet",
        ),
    )
}


def output_kind(config: ModelConfig, label_mode: str) -> str:
    """What the network of ``config`` trained with ``label_mode`` outputs (one of :data:`OUTPUT_KINDS`)."""
    return METHODS[config.method].output_kind_for(label_mode)


def get_model(config: ModelConfig) -> nn.Module:
    """Build the network a config describes (the one factory, as in OccNet's ``get_model``):
    an :class:`ImplicitNetwork`, or a :class:`PointCloudNet` for the ``points`` output kind."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"get_model expects a ModelConfig, got {type(config).__name__}")
    return METHODS[config.method].network(config)
