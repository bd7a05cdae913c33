"""Named choices and defaults of a data-set build, without the builder's imports.

Plain Python on purpose (the builder imports VTK, trimesh and PIL): the
command line offers these values while it parses its options (issue 15).
"""

#: The splits of a data set, by shape.
SPLITS = ("train", "val", "test")

#: How views are rendered (:mod:`.appearance`): plain studio renders, or photo-like ones (issue 14).
STYLES = ("studio", "photo")
#: The render style of a new build.
DEFAULT_RENDER_STYLE = "photo"

#: Side of the stored layered-depth maps: the cpu-small network's input size.
DEFAULT_DEPTH_SIZE = 160
#: Entry/exit pairs stored per pixel.
DEFAULT_DEPTH_LAYERS = 3
