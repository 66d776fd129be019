"""`mediagraph serve GRAPH`: the command line's side of the server."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import Any

from mediagraph.optional import require


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `mediagraph serve` to the CLI's sub-parsers."""
    p = subparsers.add_parser("serve", help="serve a graph of an image stream behind a web page "
                                            "(needs the serve extra)")
    p.add_argument("graph", help="a .pbtxt file, or a library graph's name "
                                 "(face_detection_live); one input stream of images")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=_positive, default=2,
                   help="warm graphs for POST /process: requests run this many at once")
    p.add_argument("--max-body", type=_size, default="10MB", metavar="SIZE",
                   help="largest request body or frame, e.g. 10MB, 512KB (default 10MB)")
    p.add_argument("--max-sessions", type=_positive, default=16,
                   help="live (WebSocket) clients at once, each with its own graph run")
    p.add_argument("--quality", type=int, default=80, choices=range(30, 101), metavar="30..100",
                   help="JPEG quality of the frames sent back (default 80)")
    p.add_argument("--allow-import", action="append", default=[], metavar="PKG",
                   help="allow configs to name calculators by dotted path inside PKG")
    p.set_defaults(func=cmd_serve)
    return p


def cmd_serve(args: argparse.Namespace) -> int:
    require("aiohttp", purpose="mediagraph serve", extra="serve")
    from aiohttp import web

    from mediagraph.file_run import load_graph
    from mediagraph.serve.app import ServeOptions, create_app

    make_graph = functools.partial(load_graph, args.graph, args.allow_import)
    options = ServeOptions(workers=args.workers, max_body=args.max_body,
                           max_sessions=args.max_sessions, quality=args.quality)
    app = create_app(make_graph, options, name=os.path.basename(args.graph))
    url = f"http://{'localhost' if args.host in ('127.0.0.1', '::1') else args.host}:{args.port}/"
    def started(_text: str) -> None:  # run_app says so once it listens
        print(f"serving {args.graph} on {url} (Ctrl-C stops)", file=sys.stderr, flush=True)

    try:
        web.run_app(app, host=args.host, port=args.port, print=started, access_log=None,
                    shutdown_timeout=10.0)
    except OSError as exc:  # the port is taken, the address is not this machine's
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


_UNITS = {"": 1, "B": 1, "KB": 1024, "K": 1024, "MB": 1024 ** 2, "M": 1024 ** 2,
          "GB": 1024 ** 3, "G": 1024 ** 3}


def _size(text: str) -> int:
    """`10MB`, `512KB`, `1048576`: a byte count."""
    raw = text.strip().upper()
    digits = raw.rstrip("KMGB")
    unit = raw[len(digits):]
    try:
        value = float(digits) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"a size is a number with KB, MB or GB, not {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"a size must be at least 1 byte, not {text!r}")
    return int(value)
