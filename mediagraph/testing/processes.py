"""Stopping a child process (a server under test or under a benchmark) with a way out."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ask `process` to end (SIGTERM), and kill it when it has not within `timeout` s."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
