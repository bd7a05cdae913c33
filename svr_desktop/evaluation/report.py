"""Evaluation reports: ``metrics.csv``, ``summary.md``, ``summary.json``, table and JSON line.

``metrics.csv`` has one row per (shape, view) with every value of
:class:`~.runner.EvalRow` at full precision.  Summaries average rows (every
shape has the same number of views, so this is also the mean of per-shape
means) per category and over everything.  The edge Chamfer distance is
undefined (NaN) for a mesh without edge points; its means skip those rows and
say over how many views they were taken.  Every count is reported next to
the means: shapes, views, empty predictions.  Point-cloud predictions have
no IoU, normal consistency or ECD: ``metrics.csv`` writes ``n/a`` for them
(never 0), the tables show ``n/a``, add an EMD column and say why.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..files import atomic_write_text
from ..geometry.metrics import NEEDS_SURFACE, UNITS, MetricSettings
from .runner import EMPTY_FALLBACK, EvalRow

#: The headline metrics: (CSV field, JSON key, table header, decimals).
HEADLINE_METRICS = (
    ("iou", "iou", "IoU", 3),
    ("chamfer_l1", "cd_l1", "CD-L1", 4),
    ("edge_chamfer", "ecd", "ECD", 4),
    ("fscore", "fscore", "F-score@1%", 3),
    ("normal_consistency", "nc", "NC", 3),
)
#: The headline added for point-cloud predictions, whose IoU, NC and ECD are n/a.
POINT_HEADLINE = ("emd", "emd", "EMD", 4)
#: Further means kept in ``summary.json``.
SECONDARY = ("accuracy", "completeness", "precision", "recall", "emd")

CSV_COLUMNS = tuple(f.name for f in fields(EvalRow))
OVERALL = "all"


@dataclass(frozen=True)
class GroupSummary:
    """Means of one category (or of everything) and the counts behind them."""

    name: str
    shapes: int
    views: int
    empty: int  # views whose prediction was empty
    ecd_views: int  # views with a defined edge Chamfer distance
    means: dict[str, float]  # CSV field -> mean (NaN when no value was defined)
    point_views: int = 0  # views predicted as point clouds


def _mean(values: list[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return float(np.mean(defined)) if defined else math.nan


def summarize_group(name: str, rows: list[EvalRow]) -> GroupSummary:
    means = {key: _mean([getattr(row, key) for row in rows]) for key, *_ in HEADLINE_METRICS}
    means.update({key: _mean([getattr(row, key) for row in rows]) for key in SECONDARY})
    return GroupSummary(
        name=name,
        shapes=len({row.shape for row in rows}),
        views=len(rows),
        empty=sum(row.pred_empty for row in rows),
        ecd_views=sum(not math.isnan(row.edge_chamfer) for row in rows),
        means=means,
        point_views=sum(row.prediction == "points" for row in rows),
    )


def summarize(rows: list[EvalRow]) -> list[GroupSummary]:
    """One summary per category (sorted by name), then the overall one."""
    categories = sorted({row.category for row in rows})
    groups = [summarize_group(c, [row for row in rows if row.category == c]) for c in categories]
    return groups + [summarize_group(OVERALL, rows)]


def _number(value: float, decimals: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{decimals}f}"


def headline(groups: list[GroupSummary]) -> tuple[tuple[str, str, str, int], ...]:
    """The headline metrics of these groups: :data:`HEADLINE_METRICS`, and EMD when point clouds were scored."""
    return HEADLINE_METRICS + ((POINT_HEADLINE,) if groups[-1].point_views else ())


def table_rows(groups: list[GroupSummary]) -> list[list[str]]:
    """Header plus one line per group: counts and headline means."""
    metrics = headline(groups)
    header = ["category", "shapes", "views", "empty"] + [title for _, _, title, _ in metrics]
    lines = [header]
    for group in groups:
        cells = [group.name, str(group.shapes), str(group.views), str(group.empty)]
        for key, _, _, decimals in metrics:
            cell = _number(group.means[key], decimals)
            # A point cloud has no ECD at all: no count of the views that had one.
            if key == "edge_chamfer" and group.ecd_views != group.views and group.point_views < group.views:
                cell += f" ({group.ecd_views})"
            cells.append(cell)
        lines.append(cells)
    return lines


def text_table(groups: list[GroupSummary]) -> str:
    """The summary table for a terminal (aligned columns)."""
    lines = table_rows(groups)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(line, widths)))
        for line in lines
    )


def markdown_table(groups: list[GroupSummary]) -> str:
    lines = table_rows(groups)
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "|".join(["---"] + ["---:"] * (len(lines[0]) - 1)) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(out)


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(float(value), 6)


def headline_json(group: GroupSummary) -> dict:
    """``{"shapes", "iou", "cd_l1", "ecd", "fscore", "nc"}`` (and ``emd`` for point clouds):
    the JSON line's content (NaN -> null)."""
    values: dict = {"shapes": group.shapes}
    values.update({json_key: _json_number(group.means[key]) for key, json_key, _, _ in headline([group])})
    return values


def json_line(groups: list[GroupSummary]) -> str:
    """The one-line JSON of the overall means (the last line the ``evaluate`` command prints)."""
    return json.dumps(headline_json(groups[-1]))


def write_metrics_csv(path: str | Path, rows: list[EvalRow]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = {k: repr(float(v)) if isinstance(v, float) else v for k, v in row.as_dict().items()}
        if row.prediction == "points":
            values.update({key: "n/a" for key in NEEDS_SURFACE})
        writer.writerow(values)
    atomic_write_text(path, buffer.getvalue())


def units_note(settings: MetricSettings, point_views: int = 0) -> list[str]:
    """What the table's numbers mean, with units and sample counts (and why point clouds lack some)."""
    described = settings.describe()
    points = (
        [
            f"Point clouds ({point_views} views): IoU, NC and ECD need a surface (inside tests, normals) and are n/a, "
            f"not 0. CD-L1 and F-score match the predicted points with {settings.surface_points:,} ground-truth "
            f"surface samples; EMD: exact assignment on {settings.emd_points:,} points of each (a random subset of "
            f"the prediction when it has more), mean matched distance."
        ]
        if point_views
        else []
    )
    return points + [
        f"IoU: {described['iou']}.",
        f"CD-L1: {described['chamfer_l1']}.",
        f"ECD: {described['edge_chamfer']}. A value in parentheses is the number of views it averages "
        "when some had no edge points.",
        f"F-score@1%: {described['fscore']}.",
        f"NC: {described['normal_consistency']}.",
        f"Empty predictions: {EMPTY_FALLBACK}.",
        f"All distances are in {UNITS}.",
    ]


def summary_markdown(
    title: str, facts: list[tuple[str, str]], groups: list[GroupSummary], settings: MetricSettings, skipped: list[str]
) -> str:
    """``summary.md``: the run's facts, the table of means, the metric definitions, skipped inputs."""
    overall = groups[-1]
    lines = [f"# {title}", ""]
    lines += [f"- **{label}**: {value}" for label, value in facts]
    lines += [
        f"- **views scored**: {overall.views} views of {overall.shapes} shapes; "
        f"{overall.empty} empty prediction(s); ECD defined on {overall.ecd_views}",
        "",
        "## Means per category",
        "",
        markdown_table(groups),
        "",
        "Per-view values, with accuracy, completeness, precision, recall, EMD and timings, are in `metrics.csv`.",
        "",
        "## Metrics",
        "",
    ]
    lines += [f"- {line}" for line in units_note(settings, overall.point_views)]
    if skipped:
        lines += ["", "## Skipped inputs", ""] + [f"- {reason}" for reason in skipped]
    return "\n".join(lines) + "\n"


def summary_json(facts: list[tuple[str, str]], groups: list[GroupSummary], skipped: list[str]) -> str:
    """``summary.json``: overall and per-category means with counts, for programs (NaN -> null)."""

    def group_dict(group: GroupSummary) -> dict:
        return {
            **headline_json(group),
            "views": group.views,
            "empty": group.empty,
            "ecd_views": group.ecd_views,
            **{key: _json_number(group.means[key]) for key in SECONDARY},
        }

    document = {
        "overall": group_dict(groups[-1]),
        "categories": {group.name: group_dict(group) for group in groups[:-1]},
        "facts": dict(facts),
        "skipped": skipped,
    }
    return json.dumps(document, indent=1)
