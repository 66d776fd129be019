"""The Ray engine of `mediagraph.batch`: one Ray task per input file.

- `ray.init()` starts a local Ray (num_cpus = workers, no dashboard) unless Ray is
  already initialized in this process (then that Ray is used and left running) or an
  address is given (then the cluster at that address is joined).
- Each task asks for `num_cpus=1`, plus `num_gpus=1` when an InferenceCalculator of the
  graph asks for a GPU delegate. Ray retries a task whose worker died (`max_retries`);
  a graph that fails is a result, not an exception, so `batch.run` handles `retry`.
- The model files the graph names are read from the driver's cache once, put into the
  object store as {file name: bytes}, and every task writes the missing ones into its
  worker's cache folder (`mediagraph.models.cache_dir()`) before running, so workers
  need no shared filesystem for models. Inputs are read and outputs written by the
  worker at the paths the driver chose: on a cluster those must be a shared path (NFS,
  a mounted bucket) or a URL PyAV opens.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from mediagraph.file_run import FileResult, Job, describe_error, run_file

MAX_RETRIES = 3  # worker deaths Ray retries per task


def graph_models(graph: Any) -> dict[str, bytes]:
    """{file name: bytes} of the model files the graph's nodes name (with .onnx/.tflite twins)."""
    from mediagraph import models

    blobs: dict[str, bytes] = {}
    for node in graph.spec.nodes:
        model_path = getattr(node.options, "model_path", None)
        if not model_path:
            continue
        path = models.resolve(str(model_path))
        blobs[path.name] = path.read_bytes()
        for twin in (path.with_suffix(".onnx"), path.with_suffix(".tflite")):
            if twin != path and twin.is_file():  # the GPU/DSP backends load the .onnx twin
                blobs[twin.name] = twin.read_bytes()
    return blobs


def wants_gpu(graph: Any) -> bool:
    """Whether an InferenceCalculator of the graph asks for a GPU delegate."""
    for node in graph.spec.nodes:
        options = node.options
        delegate = getattr(options, "delegate", None)
        if getattr(delegate, "gpu", None) is not None or getattr(options, "use_gpu", False):
            return True
    return False


def install_models(blobs: dict[str, bytes]) -> None:
    """Write each model missing from this machine's cache (atomically: tasks may race)."""
    from mediagraph import models

    folder = models.cache_dir()
    for name, data in blobs.items():
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
                 address: str | None = None) -> None:
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
            self._models = ray.put(graph_models(graph))
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
