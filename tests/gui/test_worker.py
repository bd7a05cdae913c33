"""The worker thread: results, errors and cancellation reach the GUI thread."""

import logging
import sys
import threading

import pytest

from svr_desktop.gui import jobs
from svr_desktop.gui.worker import GeneratorWorker, ProgressThrottle, start_work
from svr_desktop.progress import Progress


def counting(n, seen_threads, closed):
    try:
        for i in range(n):
            seen_threads.append(threading.get_ident())
            yield Progress("count", i + 1, n)
        return n * 10
    finally:
        closed.append(True)


def test_result_and_progress_arrive_in_the_gui_thread(qtbot):
    seen, closed, got, events = [], [], [], []
    gui_thread = threading.get_ident()
    handle = start_work(
        lambda: counting(5, seen, closed),
        on_finished=lambda value: got.append((value, threading.get_ident())),
        on_failed=lambda message: got.append(message),
        on_progress=events.append,
    )
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert handle.wait(5000)
    assert got == [(50, gui_thread)]
    # Throttled, but a stage's first and last event always arrive.
    assert events[0].done == 1 and events[-1].done == 5
    assert seen and all(t != gui_thread for t in seen)
    assert closed == [True]


def test_errors_become_messages(qtbot):
    def broken():
        yield Progress("x", 0, 1)
        raise ValueError("the photo is not an image")

    def buggy():
        yield Progress("x", 0, 1)
        raise KeyError("oops")

    for work, expected in ((broken, "the photo is not an image"), (buggy, "unexpected KeyError")):
        messages, results = [], []
        handle = start_work(work, on_finished=results.append, on_failed=messages.append)
        qtbot.waitUntil(lambda: bool(messages), timeout=5000)
        assert handle.wait(5000)
        assert results == [] and expected in messages[0]


def failure_log(qtbot, caplog, work) -> tuple[str, list[logging.LogRecord]]:
    """Run ``work`` to its failure; the message for the user and what the worker logged."""
    messages = []
    with caplog.at_level(logging.ERROR, logger="svr_desktop.gui.worker"):
        handle = start_work(work, on_finished=messages.append, on_failed=messages.append)
        qtbot.waitUntil(lambda: bool(messages), timeout=5000)
        assert handle.wait(5000)
    return messages[0], [r for r in caplog.records if r.name == "svr_desktop.gui.worker"]


@pytest.mark.parametrize("bad", ["photo", "checkpoint"])
def test_expected_errors_are_logged_in_one_line_without_traceback(qtbot, caplog, tmp_path, bad):
    path = tmp_path / ("part.png" if bad == "photo" else "model.safetensors")
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really" if bad == "photo" else b"not a checkpoint")
    work = (lambda: jobs.preview_photo(path, 64, jobs.Framing())) if bad == "photo" else (lambda: jobs.load_model(path, "cpu"))
    message, records = failure_log(qtbot, caplog, work)
    assert path.name in message
    (record,) = records
    logged = caplog.text.strip()
    assert record.exc_info is None and "Traceback" not in logged
    assert path.name in logged and "\n" not in logged


def test_a_bug_is_logged_with_its_traceback(qtbot, caplog):
    def buggy():
        yield Progress("x", 0, 1)
        {}["missing"]

    message, records = failure_log(qtbot, caplog, buggy)
    assert message == "unexpected KeyError: 'missing'"
    (record,) = records
    assert record.exc_info is not None
    assert "Traceback (most recent call last)" in caplog.text and '{}["missing"]' in caplog.text


def test_cancel_stops_at_the_next_event_and_closes_the_work(qtbot):
    closed, outcome = [], []
    release = threading.Event()

    def slow():
        try:
            for i in range(1000):
                yield Progress("slow", i, 1000)
                release.wait(5)
            return "complete"
        finally:
            closed.append(True)

    events = []
    handle = start_work(
        slow,
        on_finished=outcome.append,
        on_failed=outcome.append,
        on_progress=events.append,
        on_cancelled=lambda: outcome.append("cancelled"),
    )
    qtbot.waitUntil(lambda: bool(events), timeout=5000)
    handle.cancel()
    release.set()
    qtbot.waitUntil(lambda: bool(outcome), timeout=5000)
    assert handle.wait(5000)
    assert outcome == ["cancelled"] and closed == [True]
    assert len(events) <= 2  # the event in flight when cancel came, at most


def test_wait_from_the_gui_thread_needs_no_event_loop(qtbot):
    # The thread must end by itself: waiting without processing events (as a
    # closeEvent does) would otherwise block for the whole timeout.
    results = []
    handle = start_work(lambda: counting(3, [], []), on_finished=results.append, on_failed=results.append)
    assert handle.wait(5000)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results == [30]


def test_emitting_signals_keeps_python_objects_alive():
    # PySide6 6.12.0 on Python 3.11 loses one reference to True per emit and
    # aborts the process after a few thousand progress events.
    worker = GeneratorWorker(lambda: iter(()))
    before = sys.getrefcount(True)
    for i in range(500):
        worker.progress.emit(Progress("x", i, 500))
    assert sys.getrefcount(True) - before > -50


def test_progress_throttle_keeps_stage_boundaries():
    now = [0.0]
    throttle = ProgressThrottle(10, clock=lambda: now[0])
    passed = []
    for stage in ("mise", "marching cubes"):
        for done in range(1, 101):
            now[0] += 0.001  # 100 events within 0.1 s per stage
            event = Progress(stage, done, 100)
            if throttle.passes(event):
                passed.append((stage, done))
    # First and last of each stage, and one more where 0.1 s had elapsed.
    assert passed[0] == ("mise", 1) and ("mise", 100) in passed
    assert ("marching cubes", 1) in passed and passed[-1] == ("marching cubes", 100)
    assert len(passed) <= 6
