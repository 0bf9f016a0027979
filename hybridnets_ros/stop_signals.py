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
    """Ignore SIGINT and SIGTERM from now on, for a process that is already stopping.

    A Python handler stops protecting the process while the interpreter finalises (CPython
    puts the default action back, and a second Ctrl-C then kills it with -2); an ignored
    signal stays ignored to the end.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


class StopRequest:
    """Records the first SIGINT or SIGTERM and ignores every later one (ros2 launch forwards a
    second signal after the terminal's Ctrl-C; impatient users press it again)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def install(self) -> StopRequest:
        """Handle SIGINT and SIGTERM from now on (call from the main thread)."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._record)
        return self

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        ignore_stop_signals()

    @property
    def requested(self) -> bool:
        return self.signum is not None
