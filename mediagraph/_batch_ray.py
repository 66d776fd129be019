"""The Ray engine of `mediagraph.batch`: one Ray task per input file.

- `ray.init()` starts a local Ray (num_cpus = workers, no dashboard) unless Ray is
  already initialized in this process (then that Ray is used and left running) or an
  address is given (then the cluster at that address is joined).
- Each task asks for `num_cpus=1`, plus `num_gpus=1` when an InferenceCalculator of the
  graph asks for a GPU delegate. Ray retries a task whose worker died (`max_retries`);
  a graph that fails is a result, not an exception, so `batch.run` handles `retry`.
- The model files the graph names are read from the driver's cache once (only files in
  the model cache, or named by the caller: see `ship_models`), put into the object store
  under their sha256, and every task writes the missing ones into its worker's cache
  folder, content-addressed (`<cache>/sha256/<hex>/<file>`), before running; the shipped
  config names them so. Workers need no shared filesystem for models. Inputs are read and outputs written by the
  worker at the paths the driver chose: on a cluster those must be a shared path (NFS,
  a mounted bucket) or a URL PyAV opens.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mediagraph.file_run import FileResult, Job, describe_error, run_file

MAX_RETRIES = 3  # worker deaths Ray retries per task
_HEX = re.compile(r"[0-9a-f]{64}")


def ship_models(config: bytes, allowed: Iterable[str | os.PathLike[str]] = ()
                ) -> tuple[bytes, dict[str, dict[str, bytes]]]:
    """The models a batch's graph names, made safe to send to workers.

    Returns the config with every node's `model_path` pointing at a content-addressed
    name (`sha256:<hex>/<file>`), and {hex: {file name: bytes}}: each model with its
    `.onnx`/`.tflite` twin, under the sha256 of the model itself. Only a model that
    resolves inside the driver's model cache, or that the caller named in `allowed`, is
    shipped: a config naming `/etc/passwd`, or a file planted beside it under a real
    model's name, is refused before any worker sees a byte of it.
    """
    from mediagraph import models
    from mediagraph.config import pool
    from mediagraph.config.options_access import node_option_messages, set_node_options
    from mediagraph.errors import GraphConfigError

    parsed = pool.CalculatorGraphConfig()
    parsed.ParseFromString(config)
    cache = models.cache_dir().resolve()
    named = {Path(p).expanduser().resolve() for p in allowed}
    blobs: dict[str, dict[str, bytes]] = {}
    for node in parsed.node:
        for message in list(node_option_messages(node)):
            field = message.DESCRIPTOR.fields_by_name.get("model_path")
            model_path = getattr(message, "model_path", "") if field is not None else ""
            if not model_path or not isinstance(model_path, str):
                continue
            path = models.resolve(model_path).resolve()
            if not path.is_relative_to(cache) and path not in named:
                raise GraphConfigError(
                    f"model_path '{model_path}' resolves to {path}, outside the model cache "
                    f"{cache}: a batch ships only cached models and files named with "
                    "--ship-model", node=node.name or node.calculator)
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            files = blobs.setdefault(digest, {path.name: data})
            for twin in (path.with_suffix(".onnx"), path.with_suffix(".tflite")):
                if twin != path and twin.is_file():  # the GPU/DSP backends load the .onnx twin
                    files[twin.name] = twin.read_bytes()
            message.model_path = f"{models.CONTENT_PREFIX}{digest}/{path.name}"
            set_node_options(node, message)
    return parsed.SerializeToString(deterministic=True), blobs


def wants_gpu(graph: Any) -> bool:
    """Whether an InferenceCalculator of the graph asks for a GPU delegate."""
    for node in graph.spec.nodes:
        options = node.options
        delegate = getattr(options, "delegate", None)
        if getattr(delegate, "gpu", None) is not None or getattr(options, "use_gpu", False):
            return True
    return False


def install_models(blobs: dict[str, dict[str, bytes]]) -> None:
    """Write each shipped model missing from this machine's cache, content-addressed:
    `<cache>/sha256/<hex>/<file>`, where <hex> is the model's own sha256 (checked here)
    and <file> a bare file name. Nothing a config chose decides where bytes land.
    Written atomically: tasks on one machine may race."""
    from mediagraph import models

    for digest, files in blobs.items():
        if not _HEX.fullmatch(digest):
            raise ValueError(f"shipped model key {digest!r} is not a sha256")
        if not any(hashlib.sha256(data).hexdigest() == digest for data in files.values()):
            raise ValueError(f"no shipped file has the sha256 {digest} it is filed under")
        folder = models.content_folder(digest)
        for name, data in files.items():
            if name != Path(name).name or name.startswith(".") or "\0" in name:
                raise ValueError(f"shipped model file name {name!r} is not a bare file name")
            target = folder / name
            if target.is_file():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


def _task(job: Job, config: bytes, blobs: dict[str, bytes]) -> FileResult:
    install_models(blobs)
    return run_file(replace(job, config=config))


class RayEngine:
    """Submits `Job`s as Ray tasks; `wait` hands back finished ones."""

    def __init__(self, graph: Any, config: bytes, *, workers: int,
                 address: str | None = None,
                 ship: Iterable[str | os.PathLike[str]] = ()) -> None:
        config, blobs = ship_models(config, ship)  # refused before Ray starts
        try:
            import ray
        except ImportError:
            from mediagraph.errors import MissingDependencyError

            raise MissingDependencyError("ray", "distributed", "--engine ray") from None
        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        try:
            # Put once, passed by reference: no per-task copy of the config or the models.
            self._config = ray.put(config)
            self._models = ray.put(blobs)
            self.capacity = max(1, int(ray.cluster_resources().get("CPU", workers)))
            self._remote = ray.remote(_task).options(
                num_cpus=1, num_gpus=1 if wants_gpu(graph) else 0, max_retries=MAX_RETRIES)
        except BaseException:  # e.g. a model missing from the driver's cache
            self.close()
            raise

    def submit(self, job: Job) -> Any:
        return self._remote.remote(replace(job, config=b""), self._config, self._models)

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, FileResult | None, str]]:
        ray = self._ray
        ready, _ = ray.wait(handles, num_returns=1, timeout=timeout)
        if ready:  # and any others done by now
            ready, _ = ray.wait(handles, num_returns=len(handles), timeout=0)
        finished = []
        for ref in ready:
            try:
                finished.append((ref, ray.get(ref), ""))
            except Exception as exc:  # noqa: BLE001 - a worker died past max_retries, ...
                finished.append((ref, None, f"ray task failed: {describe_error(exc)}"))
        return finished

    def cancel(self, handles: list[Any]) -> None:
        for ref in handles:
            with contextlib.suppress(Exception):  # a task that already finished
                self._ray.cancel(ref)  # a running task gets KeyboardInterrupt: the run cancels

    def close(self) -> None:
        if self._owned:
            self._ray.shutdown()
