"""Ctrl-C and SIGTERM for our processes, handled in Python rather than by rclpy.

rclpy's own handler (rclpy.init's default) triggers every executor's guard condition from a
thread of its own. When that thread runs late, on a loaded machine, it can trigger a guard
condition that the main thread has already destroyed while shutting down, and the process dies
with SIGSEGV in rcl_trigger_guard_condition. Processes that init rclpy with `ROS_SIGNALS_OFF`
have no such thread: a signal only sets a flag that the spin loop polls, and the main thread
shuts down alone.
"""

from __future__ import annotations

import signal
from types import FrameType

from rclpy.signals import SignalHandlerOptions

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
ROS_SIGNALS_OFF = SignalHandlerOptions.NO  # for rclpy.init(signal_handler_options=...)


def ignore_stop_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on: call it from the main thread once the process
    has stopped its work and only the interpreter's exit is left.

    A Python handler stops protecting the process while the interpreter finalises (CPython
    puts the default action back, and a late Ctrl-C then kills it with -2); an ignored signal
    stays ignored to the end. Not from inside a handler: a signal already caught but not yet
    handled would then be reported as "ignored due to race condition".
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


class StopRequest:
    """Records SIGINT and SIGTERM; the first one stops the process, later ones change nothing
    (ros2 launch forwards a second signal after the terminal's Ctrl-C; impatient users press
    it again)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def install(self) -> StopRequest:
        """Handle SIGINT and SIGTERM from now on (call from the main thread)."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._record)
        return self

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None
