"""Every exception mediagraph raises on purpose.

    MediaGraphError
    ├── GraphConfigError (ValueError)          a config cannot be loaded or is invalid
    │   ├── ConfigSyntaxError                  text/binary that does not parse (file:line:col)
    │   ├── UnknownCalculatorError (LookupError)  no calculator or subgraph by that name
    │   ├── OptionsError                       unknown option field or wrong option type
    │   └── SubgraphError                      expansion failed (recursion, bad mapping)
    ├── CalculatorError                        a calculator raised in open/process/close
    │   └── CalculatorTimeoutError             a call outlived its process_timeout (watchdog)
    ├── GraphRunError (RuntimeError)           the run could not go on
    │   ├── DeadlockError                      throttling stalled every node
    │   ├── TimestampError                     a stream's timestamps did not increase
    │   ├── PacketTypeError (TypeError)        a packet's value does not suit its port
    │   ├── GraphCancelled                     cancel() ended the run
    │   └── QueueFullError                     add-if-not-full found the queue full
    ├── DeviceUnavailableError (OSError)       a camera, microphone, speaker or display is missing
    ├── MissingDependencyError (ImportError)   a package is not installed
    └── ModelIntegrityError (ValueError)       a model file's sha256 is not the pinned one

Config errors carry `source` (file name or "<string>"), `line`, `column`, `node` and `stream`
where known, so tools can point at the spot; their message already names them.
"""

from __future__ import annotations

from typing import Any

from mediagraph.terminal import printable


class MediaGraphError(Exception):
    """Base class of every error mediagraph raises on purpose."""


class GraphConfigError(MediaGraphError, ValueError):
    """A graph config that cannot be loaded, expanded or validated."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        node: str | None = None,
        stream: str | None = None,
    ) -> None:
        self.reason = message
        self.errors: list[GraphConfigError] = [self]  # every problem found, when several
        self.source = source
        self.line = line
        self.column = column
        self.node = node
        self.stream = stream
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return printable(where + self.reason)

    def located(self, source: str | None, line: int | None = None,
                column: int | None = None) -> "GraphConfigError":
        """Return this error with a location added where it had none."""
        if self.source is None and source is not None:
            self.source = source
        if self.line is None and line is not None:
            self.line, self.column = line, column
        self.args = (self._render(),)
        return self

    def within(self, context: str) -> "GraphConfigError":
        """Return this error with `context` (e.g. "node 'x'") put before its message."""
        self.reason = f"{context}: {self.reason}"
        self.args = (self._render(),)
        return self


class ConfigSyntaxError(GraphConfigError):
    """Text or binary that is not a valid CalculatorGraphConfig."""


class UnknownCalculatorError(GraphConfigError, LookupError):
    """A node names a calculator or subgraph that is not registered."""


class OptionsError(GraphConfigError):
    """A node's options name an unknown field or give a value of the wrong type."""


class SubgraphError(GraphConfigError):
    """A subgraph could not be expanded (recursion, bad stream mapping, bad option_value)."""


class CalculatorError(MediaGraphError):
    """A calculator raised; `__cause__` is the original exception.

    `node` is the node's name, `calculator` its class name, `timestamp` the input
    timestamp of the failing call and `method` one of open/process/close.
    """

    def __init__(self, node: str, calculator: str, method: str, timestamp: Any,
                 cause: BaseException | None = None, detail: str | None = None) -> None:
        self.node = node
        self.calculator = calculator
        self.method = method
        self.timestamp = timestamp
        what = detail if detail is not None else (
            f"{type(cause).__name__}: {cause}" if cause is not None else "failed")
        super().__init__(printable(
            f"node '{node}' ({calculator}) failed in {method}() at timestamp {timestamp}: {what}"))


class CalculatorTimeoutError(CalculatorError):
    """A calculator call ran longer than its node's `process_timeout` (the watchdog).

    The call cannot be interrupted: its thread is abandoned (left to finish on its own,
    after which the calculator's `close` runs there), and the run ends without it.
    `stack` is that thread's Python stack when the watchdog fired; `thread` its name.
    """

    def __init__(self, node: str, calculator: str, method: str, timestamp: Any,
                 limit: float, thread: str, stack: str) -> None:
        self.limit = limit
        self.thread = thread
        self.stack = stack
        super().__init__(node, calculator, method, timestamp, detail=(
            f"still running after {limit:g} s (watchdog: process_timeout) on thread "
            f"'{thread}', which is abandoned; its stack:\n{stack}"))


class GraphRunError(MediaGraphError, RuntimeError):
    """The run cannot go on for a reason outside any one calculator."""


class DeadlockError(GraphRunError):
    """Input throttling stalled every node (`report_deadlock: true`)."""


class TimestampError(GraphRunError):
    """A packet's timestamp is not above its stream's bound, or not allowed in a stream."""


class PacketTypeError(GraphRunError, TypeError):
    """A calculator sent a value whose type does not suit the output port it declared."""


class GraphCancelled(GraphRunError):
    """The run was ended by `Graph.cancel()`."""


class QueueFullError(GraphRunError):
    """`add_packet(..., mode="add_if_not_full")` found the stream's queue full."""


class DeviceUnavailableError(MediaGraphError, OSError):
    """A camera, microphone, speaker or display is missing or cannot be opened."""


class MissingDependencyError(MediaGraphError, ImportError):
    """A package is missing; the message says what to install.

    `extra` names the mediagraph extra that brings an optional package ("dsp", "gpu");
    None means a core dependency, installed by name.
    """

    def __init__(self, package: str, extra: str | None, purpose: str) -> None:
        target = f"'mediagraph[{extra}]'" if extra else package
        message = f"{purpose} needs the '{package}' package: pip install {target}"
        ImportError.__init__(self, message, name=package)


class ModelIntegrityError(MediaGraphError, ValueError):
    """A model (or the wheel it comes from) does not have its pinned sha256: truncated,
    damaged or replaced. The message names the file and both hashes."""
