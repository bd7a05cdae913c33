"""The networks of every method: backbone, encoders, decoders and the orthographic projection.

``get_model(ModelConfig(method=...))`` builds the method's
:class:`ImplicitNetwork` (:mod:`.methods`); ``encode`` once per image, then
``query`` view-frame points with the projection ``a, b``.
"""

from svr_desktop.model.config import ModelConfig
from svr_desktop.model.encoders import ENCODERS
from svr_desktop.model.implicit import Encoded, ImplicitNetwork, count_parameters
from svr_desktop.model.methods import METHODS, get_model, output_kind
from svr_desktop.model.network import SVRNet

__all__ = [
    "ENCODERS",
    "METHODS",
    "Encoded",
    "ImplicitNetwork",
    "ModelConfig",
    "SVRNet",
    "count_parameters",
    "get_model",
    "output_kind",
]
