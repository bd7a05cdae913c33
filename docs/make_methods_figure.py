"""Make ``docs/images/methods_qualitative.png``: the same test views through every method.

One row per test view (categories taken in turn), one column per method:
the input, the ground truth, then each method's prediction as saved by
``svr-desktop evaluate --save-meshes`` (meshes painted alike by the report
renderer; a point cloud drawn over the faded input, nearer points darker).

    python docs/make_methods_figure.py --data /work/data/parts1600-d160 --rows 6 \\
        occnet=/work/runs/methods/eval/occnet/test disn=/work/runs/methods/eval/disn/test ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import trimesh

from svr_desktop.evaluation.figures import MeshPainter, labelled_blank, picture_grid, point_panel, sample_rows
from svr_desktop.evaluation.views import dataset_views


def prediction_panel(painter: MeshPainter, view, path: Path):
    """A method's saved prediction of ``view`` as a picture; a blank panel when there is none."""
    if not path.exists():
        return labelled_blank(painter.renderer.image_size, "not evaluated")
    loaded = trimesh.load(path, process=False)
    if isinstance(loaded, trimesh.PointCloud):
        return point_panel(view, loaded)
    if not isinstance(loaded, trimesh.Trimesh):  # an empty prediction loads as an empty scene
        return labelled_blank(painter.renderer.image_size, "empty")
    return painter.paint(loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", metavar="NAME=REPORT", help="a column: its title and an evaluate --save-meshes folder")
    parser.add_argument("--data", type=Path, required=True, help="the data set the reports scored (its test split)")
    parser.add_argument("--shapes", type=int, default=80, help="the reports' --shapes")
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("docs/images/methods_qualitative.png"))
    args = parser.parse_args()
    columns = [item.split("=", 1) for item in args.reports]

    views = dataset_views(args.data, "test", views=1, shapes=args.shapes)
    rows, titles = [], []
    with MeshPainter() as painter:
        for index in sample_rows(views, args.rows):
            view = views[index]
            row = [view.image, painter.paint(view.ground_truth)]
            row += [prediction_panel(painter, view, Path(folder) / "predictions" / f"{view.name}.ply") for _, folder in columns]
            rows.append(row)
            titles.append(f"{view.family} | {view.shape}")
    picture_grid(rows, ["input", "ground truth", *(name for name, _ in columns)], titles).save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
