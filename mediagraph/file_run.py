"""One graph run over one file: what the CLI's `run` and `batch` (and its Ray engine) share.

`load_graph` applies the command-line overrides, `side_for` finds the `input_*`/`output_*`
side packet a flag sets, `progress_stream` picks the stream whose packets count as frames,
and `run_file` runs a `Job` in a worker and reports a `FileResult` (one manifest line).
"""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mediagraph.errors import GraphConfigError


def parse_side(text: str) -> tuple[str, Any]:
    """`NAME=VALUE`; VALUE becomes an int, float or bool when it reads as one."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"side packets are NAME=VALUE, got {text!r}")
    return name, convert_value(raw)


def convert_value(raw: str) -> Any:
    """A command-line value as the int, float or bool it reads as, else the string.

    Only finite numbers convert: "nan" and "inf" stay strings (file names, labels).
    """
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for convert in (int, float):
        try:
            value = convert(raw)
        except ValueError:
            continue
        if value == value and value not in (float("inf"), float("-inf")):
            return value
    return raw


def input_value(raw: str) -> Any:
    """`--input`: an existing file stays a path (even "2024"); else an integer is a camera."""
    if os.path.exists(raw):
        return raw
    try:
        return int(raw)
    except ValueError:
        return raw


def same_files(inputs: Sequence[Any], outputs: Sequence[Any]) -> list[tuple[str, str]]:
    """The (input, output) pairs that are one file on disk, by identity (device and inode),
    whatever the paths say: writing such an output would destroy its input."""
    pairs = []
    for out in outputs:
        if not isinstance(out, (str, os.PathLike)) or not os.path.exists(out):
            continue
        for source in inputs:
            if isinstance(source, (str, os.PathLike)) and os.path.exists(source):
                try:
                    if os.path.samefile(source, out):
                        pairs.append((os.fspath(source), os.fspath(out)))
                except OSError:
                    continue
    return pairs


def load_graph_config(graph: str | os.PathLike[str]) -> Any:
    """A config from a file, or a library graph's name (`face_detection_video`)."""
    from mediagraph.config import library
    from mediagraph.config.loader import load_config

    text = os.fspath(graph)
    if os.path.exists(text) or "/" in text or os.sep in text:
        return load_config(text)
    resource = library.find_graph(text)
    if resource is None:
        names = [entry.name for entry in library.graphs()]
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise GraphConfigError(f"no graph file '{text}' and no library graph of that name"
                               f"{hint} (`mediagraph graphs` lists them)")
    return library.read(resource)


def load_graph(path: str | os.PathLike[str], allow: Sequence[str], threads: int | None = None,
               process_timeout: float | None = None, delegate: str | None = None) -> Any:
    """The graph at `path` (or of that library name) with the command line's overrides."""
    from mediagraph.graph import Graph

    config = load_graph_config(path)
    if threads:
        if any(e.name == "" for e in config.executor):
            raise GraphConfigError("--threads cannot override a config for the default "
                                   "executor", source=path)
        config.num_threads = threads
    if process_timeout is not None:
        config.process_timeout = process_timeout
    return Graph(config, allow_imports=allow, inference_delegate=delegate)


def side_for(graph: Any, prefix: str, flag: str) -> str:
    """The one input side packet whose name starts with `prefix`, set by `flag`."""
    declared = [s.split(":")[-1] for s in graph.config.input_side_packet]
    matches = [name for name in declared if name.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(declared) or "none"
    if not matches:
        raise GraphConfigError(f"{flag} needs the graph to declare an input_side_packet named "
                               f"{prefix}_... (it declares: {known}); use --side NAME=VALUE",
                               source=graph.spec.source)
    raise GraphConfigError(f"{flag} is ambiguous: the graph declares {', '.join(matches)}; "
                           "use --side NAME=VALUE", source=graph.spec.source)


def side_for_quiet(graph: Any, prefix: str) -> str | None:
    """`side_for`, or None where there is no single such side packet."""
    try:
        return side_for(graph, prefix, "")
    except GraphConfigError:
        return None


def progress_stream(graph: Any) -> str | None:
    """The stream whose packets count as frames: a graph output; else the main input of the
    node that writes the `output_*` file (so a count means frames handed to the writer, not
    frames decoded); else a source's first output."""
    if graph.spec.graph_outputs:
        return graph.spec.graph_outputs[0]
    media = ("VIDEO", "IMAGE", "AUDIO", "")
    for node in graph.spec.nodes:
        if node.inputs and any(b.name.startswith("output") for b in node.side_inputs):
            main = [b for b in node.inputs if b.tag in media and not b.back_edge]
            return (main or node.inputs)[0].name
    for node in graph.spec.nodes:
        if node.is_source and node.outputs:
            video = [b for b in node.outputs if b.tag in media]
            return (video or node.outputs)[0].name
    return None


@dataclass
class FileResult:
    """The outcome of one input file (one manifest line)."""

    input: str
    outputs: list[str]
    status: str  # "ok", "failed", or "skipped" (done by an earlier run; not written again)
    frames: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the worker process (all its threads) for this run
    fps: float = 0.0
    backend: str | None = None
    error: str | None = None
    attempts: int = 1
    finished: float = field(default_factory=time.time)
    job: str = ""  # what was done: the input, graph, side packets and outputs (batch.job_key)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped")


@dataclass
class Job:
    """What a worker needs for one file; picklable, no paths to the graph or models."""

    config: bytes
    input: str
    output: str | None
    side: dict[str, Any]
    input_side: str
    output_side: str | None
    allow_imports: tuple[str, ...] = ()
    attempt: int = 1


# -- the worker side of batch ------------------------------------------------------------------

_in_run = False


def worker_init() -> None:
    """Pool initializer: Ctrl-C interrupts a graph run (which cancels cleanly), never the
    pool's own bookkeeping between files."""
    signal.signal(signal.SIGINT, _on_sigint)


def _on_sigint(signum: int, frame: Any) -> None:
    if _in_run:
        raise KeyboardInterrupt


def run_file(job: Job) -> FileResult:
    """Run the graph once over `job.input`; never raises for a failure of the run itself."""
    global _in_run
    from mediagraph.graph import Graph

    start, cpu_start = time.perf_counter(), time.process_time()
    frames = [0]
    graph = None
    error: str | None = None
    status = "ok"
    try:
        graph = Graph(job.config, allow_imports=job.allow_imports)
        counted = progress_stream(graph)
        if counted is not None:
            graph.observe_output_stream(counted, lambda _p: frames.__setitem__(0, frames[0] + 1))
        side = dict(job.side)
        side[job.input_side] = job.input
        if job.output_side is not None and job.output is not None:
            Path(job.output).parent.mkdir(parents=True, exist_ok=True)
            side[job.output_side] = job.output
        _in_run = True
        try:
            graph.run(side_packets=side)
        finally:
            _in_run = False
    except KeyboardInterrupt:
        status, error = "cancelled", "interrupted"
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
        status, error = "failed", describe_error(exc)
    wall = time.perf_counter() - start
    return FileResult(input=job.input, outputs=[job.output] if job.output else [], status=status,
                      frames=frames[0], wall_s=round(wall, 4),
                      cpu_s=round(time.process_time() - cpu_start, 4),
                      fps=round(frames[0] / wall, 2) if wall > 0 else 0.0,
                      backend=_backends(graph), error=error, attempts=job.attempt)


def describe_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    inner = getattr(exc, "exceptions", None)
    if inner:
        text += "".join(f"; {describe_error(e)}" for e in inner)
    elif exc.__cause__ is not None and str(exc.__cause__) not in text:
        text += f" (caused by {type(exc.__cause__).__name__}: {exc.__cause__})"
    return text


def _backends(graph: Any) -> str | None:
    if graph is None:
        return None
    try:
        rows = graph.profile().nodes
    except Exception:  # noqa: BLE001 - no run started (the graph failed to load)
        return None
    names = sorted({str(r.info["backend"]) for r in rows if r.info.get("backend")})
    return ",".join(names) or None


