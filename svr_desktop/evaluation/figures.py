"""Picture grids for reports: input, prediction, ground truth, edge points.

Meshes are drawn by the data-set renderer (:class:`~svr_desktop.data.render.Renderer`,
off-screen) with one fixed appearance (:data:`FIGURE_APPEARANCE_SEED`) and
no scale jitter, so predictions and ground truths look alike and only their
shapes differ.  The edge panel shows the edge points of the ECD metric
(DESIGN.md section 3) projected with the view's ``a, b`` over a faded copy
of the input: ground truth in blue, prediction in red.  A point-cloud
prediction has no surface to render or edges to find: its panel shows the
points projected with ``a, b`` over the faded input (nearer points darker),
and its edge panel the ground truth's edges only.  Grids are composed with
PIL.
"""

from __future__ import annotations

import numpy as np
import trimesh
from PIL import Image, ImageDraw, ImageFont

from ..data.render import Renderer
from ..geometry.edges import default_surface_samples, edge_points
from ..geometry.metrics import MetricSettings, is_empty
from .views import EvalView

#: Seed of the figures' appearance: orange paint on a light grey background,
#: whose shading shows surface shape clearly.
FIGURE_APPEARANCE_SEED = 8
#: Side of one grid cell in pixels.
CELL = 160
#: Edge points drawn per mesh.
FIGURE_EDGE_POINTS = 2000
#: Cap on the dense samples of the edge detection for pictures: a noisy
#: prediction's large area would otherwise take up to a million samples
#: (seconds per mesh) for a few hundred visible dots.
FIGURE_SURFACE_SAMPLES = 200_000
GT_COLOUR = (30, 90, 220)
PRED_COLOUR = (220, 40, 30)
EMPTY_COLOUR = (225, 225, 225)


class MeshPainter:
    """Renders view-frame meshes for figures, all with the same look (close it when done)."""

    def __init__(self, size: int = CELL):
        self.renderer = Renderer(image_size=size, scale_jitter=0.0)

    def __enter__(self) -> "MeshPainter":
        return self

    def __exit__(self, *exc) -> None:
        self.renderer.close()

    def paint(self, mesh: trimesh.Trimesh) -> np.ndarray:
        """The mesh as an RGB image, or a plain panel saying ``empty`` for an empty mesh."""
        size = self.renderer.image_size
        if is_empty(mesh):
            return labelled_blank(size, "empty")
        return self.renderer.render(mesh, np.random.default_rng(FIGURE_APPEARANCE_SEED)).image


def labelled_blank(size: int, text: str) -> np.ndarray:
    image = Image.new("RGB", (size, size), EMPTY_COLOUR)
    ImageDraw.Draw(image).text((size // 2, size // 2), text, fill=(90, 90, 90), anchor="mm", font=_font(14))
    return np.asarray(image)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def project_to_pixels(points: np.ndarray, a: float, b: float, size: int) -> np.ndarray:
    """(column, row) pixel coordinates of view-frame points (row 0 is the top, +y)."""
    column = (a * points[:, 0] + 1.0) * 0.5 * size
    row = (1.0 - b * points[:, 1]) * 0.5 * size
    return np.stack([column, row], axis=1)


def _faded_input(view: EvalView, size: int) -> Image.Image:
    faded = Image.fromarray(view.image).convert("RGB").resize((size, size), Image.LANCZOS)
    return Image.blend(faded, Image.new("RGB", (size, size), "white"), 0.7)


def point_panel(view: EvalView, cloud: trimesh.PointCloud, size: int = CELL) -> np.ndarray:
    """Predicted points (red, darker towards the camera) projected over the faded input image."""
    panel = _faded_input(view, size)
    draw = ImageDraw.Draw(panel)
    points = np.asarray(cloud.vertices)
    # Far points first, so that the nearer ones (larger z, towards the camera) are drawn on top.
    order = np.argsort(points[:, 2])
    depth = np.ptp(points[:, 2]) or 1.0
    shade = (points[order, 2] - points[:, 2].min()) / depth
    for (column, row), near in zip(project_to_pixels(points[order], view.a, view.b, size), shade):
        draw.point((float(column), float(row)), fill=tuple(int(c * (1.0 - 0.6 * near)) for c in PRED_COLOUR))
    return np.asarray(panel)


def edge_panel(
    view: EvalView,
    prediction: trimesh.Trimesh | trimesh.PointCloud,
    settings: MetricSettings,
    rng: np.random.Generator,
    size: int = CELL,
) -> np.ndarray:
    """Ground-truth (blue) and predicted (red) edge points over the faded input image (a point cloud has none)."""
    panel = _faded_input(view, size)
    draw = ImageDraw.Draw(panel)
    for mesh, colour in ((view.ground_truth, GT_COLOUR), (prediction, PRED_COLOUR)):
        if isinstance(mesh, trimesh.PointCloud) or is_empty(mesh):
            continue
        samples = settings.edge_surface_samples or default_surface_samples(mesh.area, settings.edge_eps)
        points, _ = edge_points(
            mesh, rng, min(samples, FIGURE_SURFACE_SAMPLES), settings.edge_eps, settings.edge_threshold, FIGURE_EDGE_POINTS
        )
        for column, row in project_to_pixels(points, view.a, view.b, size):
            draw.point((float(column), float(row)), fill=colour)
    return np.asarray(panel)


def picture_grid(
    rows: list[list[np.ndarray]], column_titles: list[str], row_titles: list[str], cell: int = CELL
) -> Image.Image:
    """Images in a grid of ``cell``-pixel squares, with column titles on top and row titles above each row."""
    title_height, label_height, gap = 22, 16, 4
    width = len(column_titles) * (cell + gap) + gap
    height = title_height + len(rows) * (label_height + cell + gap)
    grid = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(grid)
    for c, title in enumerate(column_titles):
        draw.text((gap + c * (cell + gap) + cell // 2, title_height // 2), title, fill="black", anchor="mm", font=_font(13))
    for r, (images, label) in enumerate(zip(rows, row_titles)):
        top = title_height + r * (label_height + cell + gap)
        draw.text((gap, top + label_height // 2), label, fill=(60, 60, 60), anchor="lm", font=_font(11))
        for c, image in enumerate(images):
            tile = Image.fromarray(image).convert("RGB").resize((cell, cell), Image.LANCZOS)
            grid.paste(tile, (gap + c * (cell + gap), top + label_height))
    return grid


def sample_rows(views: list[EvalView], count: int) -> list[int]:
    """Indices of the first view of up to ``count`` shapes, taking categories in turn."""
    firsts: dict[str, list[int]] = {}
    for index, view in enumerate(views):
        if view.view == 0:
            firsts.setdefault(view.category, []).append(index)
    chosen: list[int] = []
    queues = list(firsts.values())
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return sorted(chosen)


def evaluation_grid(
    views: list[EvalView],
    predictions: dict[int, trimesh.Trimesh | trimesh.PointCloud],
    scores: dict[int, str],
    settings: MetricSettings,
    seed: int = 0,
) -> Image.Image:
    """Input, prediction, ground truth and edge points for each row in ``predictions`` (by index),
    titled with the row's score (``scores``, e.g. ``IoU 0.512``)."""
    rows, titles = [], []
    rng = np.random.default_rng(seed)
    with MeshPainter() as painter:
        for index in sorted(predictions):
            view, prediction = views[index], predictions[index]
            drawn = point_panel(view, prediction) if isinstance(prediction, trimesh.PointCloud) else painter.paint(prediction)
            rows.append([view.image, drawn, painter.paint(view.ground_truth), edge_panel(view, prediction, settings, rng)])
            titles.append(f"{view.family} | {view.shape} view {view.view} | {scores[index]}")
    return picture_grid(rows, ["input", "prediction", "ground truth", "edges: gt blue, pred red"], titles)
