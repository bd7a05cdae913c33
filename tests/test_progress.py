"""One overall progress figure with a time left, and how the command line shows it."""

from __future__ import annotations

import io

import pytest

from svr_desktop.cli import progress_bar
from svr_desktop.cli.progress_bar import run_with_progress_bar
from svr_desktop.inference.reconstructor import progress_plan
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.progress import OverallProgress, Progress, format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stages_map_to_one_figure_that_only_moves_forward():
    clock = FakeClock()
    overall = OverallProgress([("mise 32^3", 1.0), ("mise 64^3", 3.0), ("write", 4.0)], clock)
    figures = [
        overall.update(event).fraction
        for event in (
            Progress("mise 32^3", 0, 10),
            Progress("mise 32^3", 10, 10),
            Progress("mise 64^3", 0, 100),  # each stage starts again at 0: the figure does not
            Progress("mise 64^3", 50, 100),
            Progress("mise 32^3", 5, 10),  # a stage seen again, or out of order: no step back
            Progress("write", 4, 4),
        )
    ]
    assert figures == pytest.approx([0.0, 0.125, 0.125, 0.3125, 0.3125, 1.0])


def test_the_last_stage_done_is_100_percent_whatever_the_rounding():
    plan = [("preprocess", 0.3), ("encode", 0.01), ("mise 32^3", 0.1), ("marching cubes", 0.2), ("write", 0.7)]
    total = sum(weight for _, weight in plan)
    assert sum(weight / total for _, weight in plan) < 1.0  # its shares sum to just under 1 in floating point
    overall = OverallProgress(plan, FakeClock())
    assert overall.update(Progress("write", 1, 1)).percent == 100


def test_skipped_and_unknown_stages():
    overall = OverallProgress([("preprocess", 1.0), ("encode", 1.0), ("simplify", 2.0)], FakeClock())
    assert overall.update(Progress("encode", 0, 1)).fraction == pytest.approx(0.25)  # preprocess skipped: done
    status = overall.update(Progress("shading normals", 0, 1))  # not in the plan: shown, figure kept
    assert status.stage == "shading normals" and status.fraction == pytest.approx(0.25)
    assert overall.update(Progress("simplify", 1, 0)).fraction == pytest.approx(0.5)  # an empty stage


def test_time_left_extrapolates_the_weighted_figure():
    clock = FakeClock()
    overall = OverallProgress([("a", 1.0), ("b", 9.0)], clock)
    first = overall.update(Progress("a", 0, 1))
    assert first.remaining is None and first.describe() == "a · 0 %"
    clock.now += 2.0
    status = overall.update(Progress("b", 0, 10))  # 10 % done after 2 s: 18 s left
    assert status.elapsed == pytest.approx(2.0) and status.remaining == pytest.approx(18.0)
    assert status.describe() == "b · 10 % · about 18 s left"


@pytest.mark.parametrize("seconds, text", [(0.4, "0 s"), (8.2, "8 s"), (125, "2 min 05 s"), (3725, "1 h 02 min")])
def test_durations_read_as_people_write_them(seconds, text):
    assert format_duration(seconds) == text


def test_bad_plans_are_refused():
    for plan in ([], [("a", -1.0)], [("a", 0.0)]):
        with pytest.raises(ValueError, match="plan"):
            OverallProgress(plan)


def test_reconstruction_plan_names_every_level_and_weighs_the_fine_ones_most():
    plan = progress_plan(ReconstructionSettings(resolution=256))
    names = [name for name, _ in plan]
    assert names == [
        "preprocess", "encode", "mise 32^3", "mise 64^3", "mise 128^3", "mise 256^3", "marching cubes", "post-process",
    ]
    weights = dict(plan)
    assert weights["mise 32^3"] < weights["mise 64^3"] < weights["mise 128^3"] < weights["mise 256^3"]
    coarse = [name for name, _ in progress_plan(ReconstructionSettings(resolution=64))]
    assert "mise 128^3" not in coarse and "mise 64^3" in coarse


def job():
    """Two stages of three steps each, then a result."""
    for stage in ("first", "second"):
        for done in range(4):
            yield Progress(stage, done, 3)
    return "result"


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_without_a_terminal_progress_is_plain_lines(monkeypatch):
    pipe = Pipe()
    monkeypatch.setattr(progress_bar.sys, "stderr", pipe)
    assert run_with_progress_bar(job(), plan=[("first", 1.0), ("second", 1.0)], label="part.png") == "result"
    lines = pipe.getvalue().splitlines()
    assert lines[0] == "part.png: first · 0 %"
    assert all(line.startswith("part.png: ") and "\r" not in line for line in lines)
    percents = [int(line.split(" · ")[1].rstrip(" %")) for line in lines]
    assert percents == sorted(percents) and percents[-1] == 100
    assert len(lines) <= 2 + 100 // progress_bar.LINE_STEP  # a line per stage and per tenth, not per event

    pipe.truncate(0)
    pipe.seek(0)
    assert run_with_progress_bar(job()) == "result"  # no plan: per-stage figures
    assert pipe.getvalue().splitlines()[:2] == ["first · 0 %", "first · 33 %"]

    pipe.truncate(0)
    pipe.seek(0)
    run_with_progress_bar(job(), quiet=True)
    assert pipe.getvalue() == ""


def test_on_a_terminal_one_bar_covers_the_whole_job(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(progress_bar.sys, "stderr", terminal)
    assert run_with_progress_bar(job(), plan=[("first", 1.0), ("second", 1.0)]) == "result"
    drawn = terminal.getvalue()
    assert "%|" in drawn and "\r" in drawn  # a bar redrawn in place
    assert "first · 0 %" not in drawn  # not the plain lines
