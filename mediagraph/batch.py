"""Batch runs: one graph run per input file, on a local process pool or a Ray cluster.

    mediagraph batch GRAPH.pbtxt --inputs 'videos/**/*.mp4' --output-dir out/
                     [--engine local|ray] [--workers N] [--ray-address ADDR]
                     [--side NAME=VALUE]... [--retry N]
                     [--output-template '{stem}_annotated.mp4']

    from mediagraph import batch
    results = batch.run("graphs/face_detection_video.pbtxt", ["videos/**/*.mp4"], "out/")

The contract:

- Each input file gets one run of the graph in a worker process: the graph's `input_*`
  side packet is set to the file and its `output_*` side packet (when it declares one) to
  `output_dir / template`, where the template may use `{stem}` (file name without suffix),
  `{name}` (file name), `{suffix}` (".mp4") and `{parent}` (the folder's name). Two inputs
  mapping to one output, or an output that is an input file (by device and inode), raise
  before anything runs. Files a batch into `output_dir` writes (its manifest's outputs, and
  names the template can produce there) are never taken as inputs.
- Workers get the graph as its expanded, validated config (bytes), not as a path, so a
  worker needs no copy of `graphs/`; the Ray engine also ships the model files the graph
  names (see `mediagraph._batch_ray`).
- `output_dir/manifest.jsonl` gets one JSON line per finished file: input, outputs, status
  (`ok`/`failed`), frames (packets on the graph's main video stream, as `mediagraph run`
  counts them), wall_s, cpu_s (the worker's CPU time), fps, backend (the inference
  backends `graph.profile()` reported), error, attempts, finished (Unix time), and job: a
  hash of the input, the graph, the side packets and the output path. A re-run skips an
  input only when a line with the same job is `ok` and its outputs exist: another graph or
  template into the same folder runs again, and so do failed files.
- `retry=N` runs a failed file up to N more times within the run. One bad file never stops
  the batch. Ctrl-C cancels the files not yet started, lets running ones cancel (their
  outputs are finalized) and returns; interrupted files get no manifest line.
- The local engine is a `ProcessPoolExecutor` on the spawn context (fork would copy a
  parent whose threads may hold locks). Worker processes are reused across files.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import hashlib
import json
import os
import string
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mediagraph.file_run import (FileResult, Job, describe_error, load_graph, parse_side,
                                 run_file, side_for, worker_init)

MANIFEST = "manifest.jsonl"
DEFAULT_TEMPLATE = "{stem}_annotated.mp4"


# -- planning ---------------------------------------------------------------------------------

def expand_inputs(patterns: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files matching the glob patterns (`**` recurses), sorted and without duplicates.

    An input that names an existing file is taken as it is, glob characters and all
    (`clip[1].mp4` from the shell). A pattern that matches no file raises ValueError:
    a typo must not pass as an empty batch. A plain name that does not exist is kept, so
    it shows up as a failed run rather than silently disappearing.
    """
    found: dict[str, Path] = {}
    for pattern in patterns:
        text = os.path.expanduser(os.fspath(pattern))
        if os.path.exists(text) or not glob.has_magic(text):
            matches = [Path(text)]
        else:
            matches = [m for m in _glob(text) if m.is_file()]
            if not matches:
                raise ValueError(f"--inputs pattern '{os.fspath(pattern)}' matches no file")
        for path in matches:
            found.setdefault(str(path.resolve()), path.resolve())
    return [found[k] for k in sorted(found)]


def _glob(pattern: str) -> list[Path]:
    """The paths matching `pattern`, `**` recursing into real folders only.

    pathlib's `**` never descends into a symlinked folder, so each folder is visited once:
    a symlink loop (`a/loop -> ..`) cannot make the walk grow without end, where
    `glob.glob` follows it as deep as paths may go, doubling per level.
    """
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = Path(*parts[:first]) if first else Path(".")
    return sorted(base.glob(str(Path(*parts[first:]))))


def template_pattern(template: str) -> str:
    """The glob pattern of every name `template` can produce ('{stem}_x.mp4' -> '*_x.mp4')."""
    parts = []
    for literal, field_name, _, _ in string.Formatter().parse(template):
        parts.append(glob.escape(literal))
        if field_name is not None:
            parts.append("*")
    return "".join(parts)


def job_key(config: bytes, source: str, side: Mapping[str, Any], output: str | None) -> str:
    """What a manifest line's work was: the input, the graph, the side packets and the output.

    A later batch skips an input only when all four are the same, so another graph or
    another output template into the same folder does its own work.
    """
    digest = hashlib.sha256(config)
    digest.update(json.dumps([source, sorted((k, repr(v)) for k, v in side.items()), output])
                  .encode())
    return digest.hexdigest()[:32]


def output_path(template: str, source: Path, output_dir: Path) -> Path:
    """`output_dir / template` filled in for one input file."""
    try:
        name = template.format(stem=source.stem, name=source.name, suffix=source.suffix,
                               parent=source.parent.name)
    except (KeyError, IndexError) as exc:
        raise ValueError(f"output template {template!r}: unknown field {exc}; use {{stem}}, "
                         "{name}, {suffix} or {parent}") from None
    return (output_dir / name).resolve()


def _side_names(graph: Any) -> tuple[str, str | None]:
    """The graph's input_* side packet (required) and output_* side packet (optional)."""
    from mediagraph.errors import GraphConfigError

    declared = [s.split(":")[-1] for s in graph.config.input_side_packet]
    outputs = [n for n in declared if n.startswith("output")]
    if len(outputs) > 1:
        raise GraphConfigError(f"batch needs at most one output_* side packet; the graph "
                               f"declares {', '.join(outputs)}", source=graph.spec.source)
    return side_for(graph, "input", "batch"), (outputs[0] if outputs else None)


def _shipped_config(graph: Any) -> bytes:
    from mediagraph.config.loader import to_binary

    config = type(graph.spec.config)()
    config.CopyFrom(graph.spec.config)
    for node in config.node:  # already applied by subgraph expansion; loading again warns
        node.ClearField("option_value")
    return to_binary(config)


def read_manifest(output_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """{input: its last manifest entry} (an empty dict when there is no manifest)."""
    return {entry["input"]: entry for entry in _manifest_entries(Path(output_dir))}


def _manifest_entries(output_dir: Path) -> list[dict[str, Any]]:
    """Every well-formed manifest line, in order. A line that is not UTF-8, not JSON, or not
    an object with a string `input` (a crash cut it short, an editor mangled it) is left
    out: that file simply runs again."""
    path = output_dir / MANIFEST
    if not path.is_file():
        return []
    entries = []
    for raw in path.read_bytes().splitlines():
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("input"), str):
            entries.append(entry)
    return entries


def _done(entry: Mapping[str, Any] | None) -> bool:
    """Whether a manifest line proves its work is done: `ok`, and every output it names
    is still there (a line claiming an output that is gone is not trusted)."""
    outputs = entry.get("outputs") if entry else None
    return bool(entry) and entry.get("status") == "ok" and isinstance(outputs, list) and all(
        isinstance(p, str) and Path(p).is_file() for p in outputs)


def _exclude_own_outputs(files: list[Path], out_dir: Path, template: str,
                         entries: list[dict[str, Any]]) -> list[Path]:
    """Leave out of the inputs what a batch into `out_dir` writes: the outputs its manifest
    lists and every file there whose name the output template can produce (unless the
    template maps it onto itself, which `_refuse_outputs_over_inputs` then refuses). Without
    this, an output folder that is also the input folder re-processes its own outputs."""
    written = {p for e in entries for p in (e.get("outputs") or []) if isinstance(p, str)}
    pattern = template_pattern(template)
    kept = []
    for path in files:
        try:
            relative = path.relative_to(out_dir).as_posix()
        except ValueError:
            relative = None
        produced = relative is not None and fnmatch.fnmatchcase(relative, pattern) \
            and output_path(template, path, out_dir) != path
        if str(path) in written or produced:
            continue
        kept.append(path)
    return kept


def _refuse_outputs_over_inputs(targets: dict[Path, Path], files: list[Path]) -> None:
    """An output that is an input file (by device and inode) would destroy it: refuse."""
    identities: dict[tuple[int, int], Path] = {}
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        identities[(st.st_dev, st.st_ino)] = path
    for target in targets:
        try:
            st = target.stat()
        except OSError:
            continue
        victim = identities.get((st.st_dev, st.st_ino))
        if victim is not None:
            raise ValueError(f"output {target} is the same file as input {victim}: writing it "
                             "would destroy the input; choose another --output-dir or "
                             "--output-template")


# -- the driver -------------------------------------------------------------------------------

class _LocalEngine:
    """A spawn-context process pool; a pool broken by a dying worker is replaced."""

    def __init__(self, workers: int) -> None:
        import multiprocessing

        self._workers = self.capacity = workers
        self._context = multiprocessing.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._workers, mp_context=self._context,
                                             initializer=worker_init)
        return self._pool

    def submit(self, job: Job) -> Future[FileResult]:
        try:
            return self._ensure_pool().submit(run_file, job)
        except BrokenProcessPool:
            self._pool = None
            return self._ensure_pool().submit(run_file, job)

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, FileResult | None, str]]:
        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        finished = []
        for future in done:
            try:
                finished.append((future, future.result(), ""))
            except BaseException as exc:  # noqa: BLE001 - e.g. the worker process died
                if isinstance(exc, BrokenProcessPool):
                    self._pool = None
                finished.append((future, None, f"worker failed: {describe_error(exc)}"))
        return finished

    def cancel(self, handles: list[Any]) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def run(graph: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]],
        output_dir: str | os.PathLike[str], *, engine: str = "local", workers: int | None = None,
        ray_address: str | None = None, side: Mapping[str, Any] | None = None, retry: int = 0,
        output_template: str = DEFAULT_TEMPLATE, allow_imports: Sequence[str] = (),
        threads: int | None = None, progress: bool = True,
        on_result: Callable[[FileResult], Any] | None = None,
        ship_models: Sequence[str | os.PathLike[str]] = ()) -> list[FileResult]:
    """Run `graph` once per file matched by `inputs`; returns one FileResult per file.

    `ship_models` names model files outside the model cache that the Ray engine may send to
    its workers (cached models always go). Files already done by an earlier run into
    `output_dir` come back as `skipped`. Raises
    GraphConfigError before running anything when the graph is unusable for a batch.
    Raises KeyboardInterrupt after cancelling when interrupted.
    """

    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    if retry < 0:
        raise ValueError(f"retry must be >= 0, got {retry}")
    loaded = load_graph(os.fspath(graph), allow_imports, threads)
    input_side, output_side = _side_names(loaded)
    config = _shipped_config(loaded)
    out_dir = Path(output_dir).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = _manifest_entries(out_dir)
    files = _exclude_own_outputs(expand_inputs(inputs), out_dir, output_template, entries)
    targets: dict[Path, Path] = {}
    for source in files:
        target = output_path(output_template, source, out_dir)
        if target in targets:
            raise ValueError(f"output template {output_template!r} maps both {targets[target]} "
                             f"and {source} to {target}; add {{parent}} to it")
        targets[target] = source
    if output_side:
        _refuse_outputs_over_inputs(targets, files)
    done = {e.get("job"): e for e in entries if _done(e)}
    results: dict[str, FileResult] = {}
    jobs: list[Job] = []
    keys: dict[str, str] = {}
    for source in files:
        target = output_path(output_template, source, out_dir)
        output = str(target) if output_side else None
        key = keys[str(source)] = job_key(config, str(source), dict(side or {}), output)
        entry = done.get(key)
        if entry is not None:
            known = {k: entry[k] for k in FileResult.__dataclass_fields__ if k in entry}
            results[str(source)] = FileResult(**{**known, "status": "skipped"})
            continue
        jobs.append(Job(config=config, input=str(source), output=output, side=dict(side or {}),
                        input_side=input_side, output_side=output_side,
                        allow_imports=tuple(allow_imports)))
    workers = max(1, workers or os.cpu_count() or 1)
    if engine == "ray":
        from mediagraph._batch_ray import RayEngine

        runner: Any = RayEngine(loaded, config, workers=workers, address=ray_address,
                                ship=ship_models)
    else:
        runner = _LocalEngine(min(workers, max(1, len(jobs))))
    bar = _bar(len(files), len(results), progress)
    try:
        with open(out_dir / MANIFEST, "a", encoding="utf-8") as manifest:
            _dispatch(runner, jobs, retry, manifest, results, bar, on_result, keys)
    finally:
        if bar is not None:
            bar.close()
        runner.close()
    return [results[str(f)] for f in files if str(f) in results]


def _dispatch(runner: Any, jobs: list[Job], retry: int, manifest: Any,
              results: dict[str, FileResult], bar: Any,
              on_result: Callable[[FileResult], Any] | None, keys: dict[str, str]) -> None:
    """Feed `jobs` to the engine, retry failures, record each final result."""
    # A bounded window of submitted files: a million-file batch must not queue a million
    # futures (or Ray tasks) in the driver; two per worker keeps every worker busy.
    queue = deque(jobs)
    window = 2 * runner.capacity
    started = time.perf_counter()
    frames = 0
    pending: dict[Any, Job] = {}
    try:
        while queue or pending:
            while queue and len(pending) < window:
                job = queue.popleft()
                pending[runner.submit(job)] = job
            for handle, result, crash in runner.wait(list(pending), timeout=0.25):
                job = pending.pop(handle)
                if result is None:
                    result = FileResult(input=job.input, outputs=[job.output] if job.output
                                        else [], status="failed", error=crash,
                                        attempts=job.attempt)
                if result.status == "cancelled":  # Ctrl-C reached the workers first
                    raise KeyboardInterrupt
                if result.status == "failed" and job.attempt <= retry:
                    job.attempt += 1
                    pending[runner.submit(job)] = job
                    continue
                result.job = keys[job.input]
                results[job.input] = result
                manifest.write(json.dumps(asdict(result)) + "\n")
                manifest.flush()
                frames += result.frames
                if on_result is not None:
                    on_result(result)
                if bar is not None:
                    elapsed = time.perf_counter() - started
                    bar.set_postfix_str(f"{frames / elapsed:.1f} frames/s" if elapsed > 0 else "")
                    bar.update(1)
    except KeyboardInterrupt:
        runner.cancel(list(pending))
        raise


def _bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety
        return None
    return tqdm(total=total, initial=done, unit="file", dynamic_ncols=True, file=sys.stderr,
                disable=not sys.stderr.isatty())


def summary(results: Sequence[FileResult], wall_s: float | None = None) -> str:
    """A table: one row per file, then totals."""
    rows = [("file", "status", "frames", "wall s", "fps", "backend", "error")]
    for r in results:
        error = (r.error or "").splitlines()[0] if r.error else ""
        rows.append((Path(r.input).name, r.status, str(r.frames), f"{r.wall_s:.2f}",
                     f"{r.fps:.1f}", r.backend or "", error[:60]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1]
             for row in rows]
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "skipped", "failed")}
    ran = [r for r in results if r.status != "skipped"]
    total = f"{len(results)} files: {counts['ok']} ok, {counts['skipped']} skipped, " \
            f"{counts['failed']} failed; {sum(r.frames for r in ran)} frames"
    if wall_s:
        total += f" in {wall_s:.2f} s ({len(ran) / wall_s:.2f} files/s, " \
                 f"{sum(r.frames for r in ran) / wall_s:.1f} frames/s)"
    return "\n".join(lines + [total])


# -- command line -----------------------------------------------------------------------------

def add_batch_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `mediagraph batch` to the CLI's sub-parsers."""

    p = subparsers.add_parser("batch", help="run a graph once per input file (local or Ray)")
    p.add_argument("graph")
    p.add_argument("--inputs", nargs="+", required=True, metavar="GLOB",
                   help="input files or glob patterns ('videos/**/*.mp4'; quote them)")
    p.add_argument("--output-dir", required=True, help="outputs and manifest.jsonl go here")
    p.add_argument("--output-template", default=DEFAULT_TEMPLATE,
                   help="output file name: {stem}, {name}, {suffix}, {parent} "
                        f"(default {DEFAULT_TEMPLATE})")
    p.add_argument("--engine", choices=("local", "ray"), default="local")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel runs (default: CPU count; with Ray, the local Ray's CPUs)")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster (e.g. auto)")
    p.add_argument("--ship-model", action="append", default=[], metavar="PATH",
                   help="with Ray: also send this model file (outside the model cache) to the "
                        "workers")
    p.add_argument("--side", action="append", type=parse_side, default=[],
                   metavar="NAME=VALUE", help="an input side packet for every run")
    p.add_argument("--threads", type=int, default=None,
                   help="scheduler threads per run (default: CPU count; try cores / workers)")
    p.add_argument("--retry", type=int, default=0, help="run a failed file up to N more times")
    p.add_argument("--allow-import", action="append", default=[], metavar="PKG",
                   help="allow configs to name calculators by dotted path inside PKG")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=cmd_batch)
    return p


def cmd_batch(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        results = run(args.graph, args.inputs, args.output_dir, engine=args.engine,
                      workers=args.workers, ray_address=args.ray_address, side=dict(args.side),
                      retry=args.retry, output_template=args.output_template,
                      allow_imports=args.allow_import, threads=args.threads,
                      progress=not args.quiet, ship_models=args.ship_model)
    except KeyboardInterrupt:
        print("interrupted: remaining files were cancelled; the manifest lists the finished "
              "ones, and the same command resumes", file=sys.stderr)
        return 130
    except ValueError as exc:
        from mediagraph.errors import MediaGraphError

        if isinstance(exc, MediaGraphError):  # the CLI's main reports these
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(summary(results, time.perf_counter() - start))
        print(f"manifest: {Path(args.output_dir) / MANIFEST}")
    return 1 if any(r.status == "failed" for r in results) else 0
