"""The network: backbone, encoders, decoder and the orthographic projection.

``get_model(ModelConfig(...))`` builds an :class:`SVRNet`; ``encode`` once
per image, then ``query`` view-frame points with the projection ``a, b``.
"""

from svr_desktop.model.config import ModelConfig
from svr_desktop.model.encoders import ENCODERS
from svr_desktop.model.network import SVRNet, count_parameters, get_model

__all__ = ["ENCODERS", "ModelConfig", "SVRNet", "count_parameters", "get_model"]
