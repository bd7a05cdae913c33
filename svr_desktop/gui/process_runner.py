"""Run one ``svr-desktop`` command as a child process that never outlives its owner.

Long jobs (training, data-set builds) run as ``python -m svr_desktop ...``
with the interpreter of the application itself (``sys.executable``), so the
child sees exactly the same packages.  Their merged stdout/stderr arrives as
lines, in the GUI thread.

Stopping is graceful first: SIGTERM to the command itself, which the train
command turns into "save a checkpoint and exit" (Ctrl+C semantics).  Only if
the command is still running after a timeout is it killed.  On POSIX the
child starts in a session of its own, so the kill (and a sweep after every
exit) reaches every process it started, such as data-set build workers or
data-loader workers, and none is left behind as an orphan.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

#: Seconds a command gets to stop after SIGTERM before it is killed
#: (the trainer finishes its current step and writes a checkpoint).
STOP_TIMEOUT_S = 30.0
#: Seconds to wait, after killing what a command left behind, for the kernel to remove it.
SWEEP_WAIT_S = 3.0
#: Lines of output kept for the failure message.
TAIL_LINES = 20

_GROUPS = os.name == "posix"  # process groups (and killpg) exist only there


@dataclass(frozen=True)
class CommandEnd:
    """How a command ended."""

    exit_code: int | None  # None when it never started or crashed
    stop_requested: bool  # stop() or stop_and_wait() was called while it ran
    error: str | None  # why it failed, for the user; None when it succeeded or was stopped on request


class CommandRunner(QObject):
    """One ``svr-desktop`` child process at a time."""

    output = Signal(str)  # one line of merged stdout/stderr, without the line break
    ended = Signal(object)  # CommandEnd

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._process: QProcess | None = None
        self._pid: int | None = None
        self._partial = b""
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._stop_requested = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self.kill)

    # ------------------------------------------------------------ control

    def start(self, arguments: list[str]) -> None:
        """Start ``svr-desktop ARGUMENTS``; ``ended`` reports failure to start as well."""
        if self.is_running():
            raise RuntimeError("a command is already running")
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "svr_desktop", *arguments])
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")  # lines arrive as they are printed
        process.setProcessEnvironment(environment)
        if _GROUPS:
            process.setUnixProcessParameters(QProcess.UnixProcessFlag.CreateNewSession)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process, self._pid, self._partial = process, None, b""
        self._tail.clear()
        self._stop_requested = False
        process.start()
        if process.waitForStarted(10_000):
            self._pid = int(process.processId())

    def stop(self) -> None:
        """Ask the command to stop (SIGTERM) and kill it if it has not ended after :data:`STOP_TIMEOUT_S`."""
        if not self.is_running():
            return
        self._stop_requested = True
        self._process.terminate()
        self._kill_timer.start(int(STOP_TIMEOUT_S * 1000))

    def stop_and_wait(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop like :meth:`stop` but block until the command and everything it started are gone."""
        if not self.is_running():
            return
        self._stop_requested = True
        self._process.terminate()
        if not self._process.waitForFinished(int(timeout_s * 1000)):
            self.kill()
            self._process.waitForFinished(5000)

    def kill(self) -> None:
        """Kill the command and every process it started, at once."""
        if not self.is_running():
            return
        self._stop_requested = True
        if _GROUPS:
            self._kill_group(signal.SIGKILL)
        else:
            self._process.kill()

    # ------------------------------------------------------------ state

    def is_running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    @property
    def pid(self) -> int | None:
        """Process id of the current or last command (None before it started)."""
        return self._pid

    @property
    def process(self) -> QProcess | None:
        """The QProcess of the current or last command (None before the first)."""
        return self._process

    # ------------------------------------------------------------ internals

    def _kill_group(self, sig: int) -> bool:
        """Signal the command's whole session (its pid is the process-group id); False when none is left."""
        if self._pid is None:
            return False
        try:
            os.killpg(self._pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def _sweep_group(self) -> None:
        """Kill whatever the ended command left in its group and wait until it is gone.

        A killed process lingers until the kernel has run its exit, which
        takes a moment on a busy machine; waiting makes "ended" mean "nothing
        of it runs any more".
        """
        deadline = time.monotonic() + SWEEP_WAIT_S
        if self._kill_group(signal.SIGKILL):
            while self._kill_group(0) and time.monotonic() < deadline:
                time.sleep(0.01)

    def _read_output(self) -> None:
        data = self._partial + bytes(self._process.readAllStandardOutput().data())
        *lines, self._partial = data.split(b"\n")
        for raw in lines:
            self._emit_line(raw)

    def _emit_line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if "\r" in line:  # a progress bar redrawing itself: keep the last state
            line = line.rsplit("\r", 1)[-1]
        if line.strip():
            self._tail.append(line)
        self.output.emit(line)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            message = f"could not start {sys.executable}: {self._process.errorString()}"
            self.ended.emit(CommandEnd(None, False, message))

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        self._read_output()
        if self._partial:
            self._emit_line(self._partial)
            self._partial = b""
        if _GROUPS:
            self._sweep_group()
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        error = None
        if not self._stop_requested and (crashed or exit_code != 0):
            cause = self._tail[-1] if self._tail else "no output"
            what = "crashed" if crashed else f"failed with exit code {exit_code}"
            error = f"the command {what}: {cause}"
        self.ended.emit(CommandEnd(None if crashed else exit_code, self._stop_requested, error))
