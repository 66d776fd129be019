"""The `mediagraph` command line: run, validate, draw and inspect graph configs.

    mediagraph run GRAPH.pbtxt|NAME [--input PATH|CAMERA_INDEX] [--output PATH]
                               [--side NAME=VALUE]... [--threads N] [--trace trace.json]
                               [--process-timeout S] [--latency] [--profile]
    mediagraph validate GRAPH.pbtxt...
    mediagraph serve GRAPH.pbtxt|NAME [--host 127.0.0.1] [--port 8080] [--workers N]
    mediagraph viz GRAPH.pbtxt -o graph.svg|.dot|.html
    mediagraph show GRAPH.pbtxt [--format pbtxt|binary] [--expanded]
    mediagraph graphs [--all]
    mediagraph calculators
    mediagraph models fetch|list|convert X.tflite|bench
    mediagraph version

`--input`/`--output` need no graph editing: a graph declares its file (or camera) as input
side packets whose names start with `input` and `output` (e.g. `input_video_path`,
`output_video_path`, as MediaPipe's own demo graphs do); `--input` sets the one starting
with `input`, `--output` the one starting with `output`. A number given to `--input` is
passed as an int (a camera index). `--side NAME=VALUE` sets any side packet.

SIGINT (Ctrl-C) or SIGTERM cancels a run gracefully (outputs finalized; exit 130 or 143);
a second one while that finishes exits immediately. Configs never import code unless
`--allow-import PKG` allows that package (README "Trust model").
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from mediagraph.errors import GraphConfigError, MediaGraphError
from mediagraph.terminal import ArgumentParser, printable
from mediagraph.file_run import (input_value, load_graph, load_graph_config, parse_side,
                                 progress_stream, same_files, side_for, side_for_quiet)

if sys.version_info < (3, 11):  # pragma: no cover - Python 3.10
    from exceptiongroup import ExceptionGroup


def _refuse_output_over_input(side: dict[str, Any]) -> None:
    inputs = [v for k, v in side.items() if k.startswith("input")]
    outputs = [v for k, v in side.items() if k.startswith("output")]
    for source, target in same_files(inputs, outputs):
        raise GraphConfigError(f"output '{target}' is the same file as input '{source}': "
                               "writing it would destroy the input; choose another output")


def _trace_path(path: str) -> str:
    """Where `--trace PATH` writes: PATH, or PATH/mediagraph_trace.json for a folder; the
    folder must exist now, not after the whole run."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        path = os.path.join(path, "mediagraph_trace.json")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise GraphConfigError(f"--trace {path}: folder '{folder}' does not exist")
    return path


def _check_output_path(path: str) -> None:
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise GraphConfigError(f"--output {path}: folder '{folder}' does not exist")


def _count_frames(path: Any) -> int | None:
    """Frames in a media file, when the container says so (for the progress bar)."""
    if not isinstance(path, str) or not Path(path).is_file():
        return None
    try:
        import av

        with av.open(path) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            if stream.duration and stream.average_rate and stream.time_base:
                return int(stream.duration * stream.time_base * stream.average_rate)
    except Exception:  # noqa: BLE001 - the progress bar is optional; the decoder reports errors
        return None
    return None


def cmd_run(args: argparse.Namespace) -> int:
    graph = load_graph(args.graph, args.allow_import, args.threads, args.process_timeout,
                  args.delegate)
    if args.latency:
        graph.enable_latency_tracking()
    if args.profile:
        graph.enable_framework_timing()
    if graph.input_streams:
        streams = ", ".join(graph.input_streams)
        print(printable(f"error: {args.graph} has graph input streams ({streams}); "
                        "`mediagraph run` feeds none, so the run would never end. Embed the "
                        "graph (examples/embed_in_app.py) or give it source calculators."),
              file=sys.stderr)
        return 2
    side = dict(args.side)
    if args.input is not None:
        side[side_for(graph, "input", "--input")] = input_value(args.input)
    if args.output is not None:
        _check_output_path(args.output)
        side[side_for(graph, "output", "--output")] = args.output
    _refuse_output_over_input(side)
    if args.trace:
        graph.enable_trace(_trace_path(args.trace))
    frames = [0]
    counted = progress_stream(graph)
    if counted is not None:
        graph.observe_output_stream(counted, lambda _p: frames.__setitem__(0, frames[0] + 1))
    if args.print_outputs:
        lock = threading.Lock()
        for name in graph.output_streams:
            def show(packet: Any, name: str = name) -> None:
                with lock:
                    print(printable(f"{name} @ {packet.timestamp}: {packet.value!r}"), flush=True)
            graph.observe_output_stream(name, show)
    total = _count_frames(side.get(side_for_quiet(graph, "input")))
    bar = _progress_bar(total, args.quiet or args.print_outputs)
    start = time.perf_counter()
    stop = _StopSignals()
    with stop:
        try:
            graph.start_run(side)
            _wait_with_progress(graph, bar, frames, args.timeout)
        except TimeoutError:
            # Ends like Ctrl-C: cancel, close every node (an encoder finalizes its file).
            graph.cancel(timeout=None)
            _close_bar(bar, frames)
            raise
        except KeyboardInterrupt:
            # Finalizing (an encoder writing its trailer) may take a while: wait it out;
            # a second signal is the way to give up on it.
            graph.cancel(timeout=None)
            _close_bar(bar, frames)
            what = "terminated" if stop.signum == signal.SIGTERM else "interrupted"
            print(f"{what}: the run was cancelled after {frames[0]} frames; outputs written "
                  "so far were finalized", file=sys.stderr)
            return 128 + (stop.signum or signal.SIGINT)
        except BaseException:
            _close_bar(bar, frames)
            raise
    _close_bar(bar, frames)
    elapsed = time.perf_counter() - start
    if not args.quiet:
        fps = frames[0] / elapsed if elapsed > 0 else 0.0
        print(f"frames {frames[0]}  wall {elapsed:.2f} s  {fps:.1f} frames/s"
              + (f"  stream '{counted}'" if counted else ""))
    if not args.quiet or args.profile:
        print(printable(graph.profile().table()))
    if args.output is not None and not args.quiet:
        print(f"wrote {args.output}")
    return 0


class _StopSignals:
    """SIGINT and SIGTERM during a run: the first cancels it gracefully, the second exits now.

    The first signal raises KeyboardInterrupt in the main thread (SIGTERM too), so the run
    is cancelled and every opened node closed: outputs are finalized. A second signal,
    while that is still going on, writes one line and leaves with `os._exit(128 + signum)`.
    The previous handlers come back on exit; outside the main thread nothing is installed
    (Python runs signal handlers only there).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum
            raise KeyboardInterrupt
        # os.write, not print: the main thread may be inside a write to stderr right now.
        name = signal.Signals(signum).name
        os.write(2, f"\n{name} again: exiting now; outputs may be unfinished\n".encode())
        os._exit(128 + signum)


def _progress_bar(total: int | None, disabled: bool) -> Any:
    if disabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety; runs work without it
        return None
    return tqdm(total=total, unit="frame", dynamic_ncols=True, file=sys.stderr,
                disable=not sys.stderr.isatty() and total is None)


def _wait_with_progress(graph: Any, bar: Any, frames: list[int], timeout: float | None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    shown = 0
    while True:
        step = 0.25 if deadline is None else max(0.0, min(0.25, deadline - time.monotonic()))
        try:
            graph.wait_until_done(timeout=step)
            return
        except TimeoutError:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"the run did not finish within {timeout} s") from None
        finally:
            if bar is not None and frames[0] > shown:
                bar.update(frames[0] - shown)
                shown = frames[0]


def _close_bar(bar: Any, frames: list[int]) -> None:
    if bar is not None:
        bar.update(max(0, frames[0] - bar.n))
        bar.close()


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.graphs:
        try:
            graph = load_graph(path, args.allow_import)
        except MediaGraphError as exc:
            print(f"FAIL {printable(str(exc))}")
            status = 1
            continue
        print(printable(f"ok   {path}: {len(graph.spec.nodes)} nodes, "
                        f"{len(graph.spec.streams)} streams"))
    return status


def cmd_show(args: argparse.Namespace) -> int:
    from mediagraph.config.loader import to_binary, to_text

    config = load_graph(args.graph, args.allow_import).spec.config if args.expanded \
        else load_graph_config(args.graph)
    if args.format == "binary":
        sys.stdout.buffer.write(to_binary(config))
    else:
        print(to_text(config), end="")
    return 0


def cmd_viz(args: argparse.Namespace) -> int:
    from mediagraph.viz import render, to_dot

    graph = load_graph(args.graph, args.allow_import)
    if args.output is None:
        print(printable(to_dot(graph)), end="")
        return 0
    try:
        written = render(graph, args.output)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {written}")
    return 0


def cmd_graphs(args: argparse.Namespace) -> int:
    from mediagraph.config import library

    entries = library.graphs()
    runnable = [e for e in entries if not e.type]
    subgraphs = [e for e in entries if e.type]
    width = max((len(e.name) for e in runnable), default=0)
    print("Graphs (mediagraph run NAME -i IN -o OUT):")
    for entry in runnable:
        print(printable(f"  {entry.name:{width}s}  {entry.description}"))
    if args.all:
        width = max((len(e.type) for e in subgraphs), default=0)
        print("\nSubgraphs (calculator: TYPE in any config):")
        for entry in subgraphs:
            print(printable(f"  {entry.type:{width}s}  {entry.description}"))
    else:
        print(f"\n{len(subgraphs)} subgraphs too: mediagraph graphs --all")
    return 0


def cmd_calculators(args: argparse.Namespace) -> int:
    from mediagraph import registry

    for name in registry.calculator_names():
        cls = registry.find_calculator(name)
        if cls is None:
            continue
        doc = (cls.__doc__ or "").strip().splitlines()
        summary = doc[0] if doc else ""
        print(printable(f"{name}: {summary}"))
        for kind, label in (("input", "in"), ("output", "out"), ("side_input", "side in"),
                            ("side_output", "side out")):
            ports = [p.spec().replace(":*", ":0..n").rstrip(":0") or ":0"
                     for p in cls.ports.values() if p.kind == kind]
            if ports:
                print(f"    {label:8s} {', '.join(ports)}")
    return 0


def _models_main(argv: Sequence[str]) -> int:
    from mediagraph import model_bench, models

    bench = ("run each fetched model on every installed backend: agreement with LiteRT, "
             "load time, latency, peak RSS", model_bench.add_arguments, model_bench.run)
    return models.main(argv, commands={"bench": bench})


def cmd_models(args: argparse.Namespace) -> int:
    return _models_main(args.models_args)


def cmd_version(args: argparse.Namespace) -> int:
    import mediagraph

    print(f"mediagraph {mediagraph.__version__} (Python {sys.version.split()[0]})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="mediagraph", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--allow-import", action="append", default=[], metavar="PKG",
                       help="allow configs to name calculators by dotted path inside PKG")

    run = sub.add_parser("run", help="run a graph config until its sources finish")
    run.add_argument("graph", help="a .pbtxt/.binarypb file, or a library graph's name (mediagraph graphs)")
    run.add_argument("--input", "-i", help="media file or camera index (side packet input_*)")
    run.add_argument("--output", "-o", help="output file (side packet output_*)")
    run.add_argument("--side", action="append", type=parse_side, default=[],
                     metavar="NAME=VALUE", help="an input side packet")
    run.add_argument("--threads", type=int, default=None, help="threads of the default executor")
    run.add_argument("--trace", metavar="PATH", help="write a Perfetto/Chrome trace JSON")
    run.add_argument("--timeout", type=float, default=None, help="give up after S seconds")
    run.add_argument("--delegate", "--backend", metavar="DEVICE",
                     help="run every InferenceCalculator on DEVICE, whatever the config says: "
                          "cpu, gpu, dsp, openvino, mnn, ncnn, executorch, coreml (macOS), auto "
                          "(also xnnpack, tflite, hexagon, nnapi)")
    run.add_argument("--process-timeout", type=float, default=None, metavar="S",
                     help="fail the run, naming the node and its stack, when one process() "
                          "call takes longer than S seconds (open/close: 10x, at least 1 s)")
    run.add_argument("--latency", action="store_true",
                     help="measure source-to-sink latency per path (shown in the summary)")
    run.add_argument("--profile", action="store_true",
                     help="also time the scheduler's own steps and print where the framework's "
                          "time per call goes, apart from the calculators'")
    run.add_argument("--print-outputs", action="store_true",
                     help="print every packet on the graph's output streams")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    common(run)
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="load, expand and validate graph configs")
    validate.add_argument("graphs", nargs="+")
    common(validate)
    validate.set_defaults(func=cmd_validate)

    viz = sub.add_parser("viz", help="draw a graph (DOT; SVG/PNG/HTML with Graphviz)")
    viz.add_argument("graph")
    viz.add_argument("-o", "--output", help="graph.dot, graph.svg, graph.png or graph.html")
    common(viz)
    viz.set_defaults(func=cmd_viz)

    show = sub.add_parser("show", help="print a config as pbtxt or binary")
    show.add_argument("graph")
    show.add_argument("--format", choices=("pbtxt", "binary"), default="pbtxt")
    show.add_argument("--expanded", action="store_true", help="after subgraph expansion")
    common(show)
    show.set_defaults(func=cmd_show)

    graphs = sub.add_parser("graphs", help="list the library's graphs, with what each does")
    graphs.add_argument("--all", action="store_true", help="also list the subgraphs")
    graphs.set_defaults(func=cmd_graphs)

    calcs = sub.add_parser("calculators", help="list the registered calculators and ports")
    calcs.set_defaults(func=cmd_calculators)

    models = sub.add_parser("models", help="the model cache: fetch, list, convert X.tflite, bench",
                            add_help=False)
    models.add_argument("models_args", nargs=argparse.REMAINDER)
    models.set_defaults(func=cmd_models)

    from mediagraph.batch import add_batch_parser
    from mediagraph.serve import add_serve_parser

    add_batch_parser(sub)
    add_serve_parser(sub)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader that left shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        return _reader_left()


def _reader_left() -> int:
    """Standard output's reader is gone (`mediagraph graphs | head`): end quietly, with
    the status of a process that SIGPIPE ended, and let nothing more reach the pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + getattr(signal, "SIGPIPE", 13)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["models"]:  # its own sub-commands and --help
        return _models_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MediaGraphError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        cause = exc.__cause__
        if cause is not None and str(cause) not in str(exc):  # say each thing once
            print(printable(f"  caused by {type(cause).__name__}: {cause}"), file=sys.stderr)
        return 1
    except TimeoutError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 1
    except ExceptionGroup as group:  # several nodes failed: report each
        print(f"error: {printable(str(group))}", file=sys.stderr)
        for exc in group.exceptions:
            print(f"  {printable(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
