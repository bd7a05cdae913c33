"""Default sample counts: of the metrics (DESIGN.md section 3) and of a shape's training points.

Plain Python on purpose (the samplers import trimesh and scipy): the command
line shows these defaults while it parses its options (issue 15).
"""

#: Uniform points in the padded cube for IoU.
IOU_POINTS = 100_000
#: Surface points per mesh for Chamfer-L1, F-score and normal consistency.
SURFACE_POINTS = 100_000
#: Surface points per mesh for the earth mover's distance (exact assignment is cubic).
EMD_POINTS = 2048

#: Training points per shape near the surface and uniform in the padded cube:
#: 10,000 in all, the paper's (section 5.1).
TRAINING_SURFACE_POINTS = 9872
TRAINING_UNIFORM_POINTS = 128
