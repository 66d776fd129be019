"""The `mediagraph` command line: run, validate and inspect graph configs.

    mediagraph run GRAPH.pbtxt [--side NAME=VALUE]... [--allow-import PKG]... [--profile]
    mediagraph validate GRAPH.pbtxt...
    mediagraph show GRAPH.pbtxt [--format pbtxt|binary|dot] [--expanded]
    mediagraph calculators
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from mediagraph.errors import MediaGraphError


def parse_side(text: str) -> tuple[str, Any]:
    """`NAME=VALUE`; VALUE becomes an int, float or bool when it reads as one."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"side packets are NAME=VALUE, got {text!r}")
    value: Any = raw
    for convert in (int, float):
        try:
            value = convert(raw)
            break
        except ValueError:
            continue
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    return name, value


def _graph(path: str, allow: Sequence[str]) -> Any:
    from mediagraph.graph import Graph

    return Graph(Path(path), allow_imports=allow)


def cmd_run(args: argparse.Namespace) -> int:
    graph = _graph(args.graph, args.allow_import)
    if args.trace:
        graph.enable_trace(args.trace)
    if graph.input_streams:
        print(f"error: {args.graph} has graph input streams ({', '.join(graph.input_streams)}); "
              "`mediagraph run` feeds none, so the run would never end. Embed the graph "
              "(examples/embed_graph.py) or give it source calculators.", file=sys.stderr)
        return 2
    lock = threading.Lock()
    for name in graph.output_streams:
        def show(packet: Any, name: str = name) -> None:
            if args.quiet:
                return
            with lock:
                print(f"{name} @ {packet.timestamp}: {packet.value!r}", flush=True)
        graph.observe_output_stream(name, show)
    start = time.perf_counter()
    try:
        graph.start_run(dict(args.side))
        graph.wait_until_done(timeout=args.timeout)
    except KeyboardInterrupt:
        graph.cancel()
        print("interrupted: the run was cancelled", file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - start
    if args.profile or not args.quiet:
        print(graph.profile().table())
    print(f"done in {elapsed:.3f} s", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.graphs:
        try:
            graph = _graph(path, args.allow_import)
        except MediaGraphError as exc:
            print(f"FAIL {exc}")
            status = 1
            continue
        print(f"ok   {path}: {len(graph.spec.nodes)} nodes, {len(graph.spec.streams)} streams")
    return status


def cmd_show(args: argparse.Namespace) -> int:
    from mediagraph.config.loader import load_config, to_binary, to_text

    if args.expanded or args.format == "dot":
        graph = _graph(args.graph, args.allow_import)
        config = graph.spec.config
    else:
        config = load_config(args.graph)
    if args.format == "binary":
        sys.stdout.buffer.write(to_binary(config))
    elif args.format == "dot":
        print(to_dot(graph))
    else:
        print(to_text(config), end="")
    return 0


def to_dot(graph: Any) -> str:
    """Graphviz DOT of the validated DAG: nodes by calculator, edges by stream."""
    lines = ["digraph mediagraph {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    for name, data in graph.dag.nodes(data=True):
        label = name if data.get("graph_input") else f"{name}\\n{data['calculator']}"
        shape = "ellipse" if data.get("graph_input") else "box"
        lines.append(f'  "{name}" [label="{label}", shape={shape}];')
    for u, v, data in graph.dag.edges(data=True):
        style = ", style=dashed" if data.get("back_edge") or data.get("kind") == "side" else ""
        lines.append(f'  "{u}" -> "{v}" [label="{data["stream"]}"{style}];')
    lines.append("}")
    return "\n".join(lines)


def cmd_calculators(args: argparse.Namespace) -> int:
    from mediagraph import registry

    for name in registry.calculator_names():
        cls = registry.find_calculator(name)
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls and cls.__doc__ else ""
        print(f"{name:40s} {summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediagraph", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--allow-import", action="append", default=[], metavar="PKG",
                       help="allow configs to name calculators by dotted path inside PKG")

    run = sub.add_parser("run", help="run a graph config until its sources finish")
    run.add_argument("graph")
    run.add_argument("--side", action="append", type=parse_side, default=[],
                     metavar="NAME=VALUE", help="an input side packet")
    run.add_argument("--profile", action="store_true", help="print the profiler table")
    run.add_argument("--trace", metavar="PATH", help="write a Perfetto/Chrome trace JSON")
    run.add_argument("--timeout", type=float, default=None, help="give up after S seconds")
    run.add_argument("--quiet", "-q", action="store_true", help="do not print output packets")
    common(run)
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="load, expand and validate graph configs")
    validate.add_argument("graphs", nargs="+")
    common(validate)
    validate.set_defaults(func=cmd_validate)

    show = sub.add_parser("show", help="print a config as pbtxt, binary or Graphviz DOT")
    show.add_argument("graph")
    show.add_argument("--format", choices=("pbtxt", "binary", "dot"), default="pbtxt")
    show.add_argument("--expanded", action="store_true", help="after subgraph expansion")
    common(show)
    show.set_defaults(func=cmd_show)

    calcs = sub.add_parser("calculators", help="list the registered calculators")
    calcs.set_defaults(func=cmd_calculators)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MediaGraphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        cause = exc.__cause__
        if cause is not None:
            print(f"  caused by {type(cause).__name__}: {cause}", file=sys.stderr)
        return 1
    except TimeoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
