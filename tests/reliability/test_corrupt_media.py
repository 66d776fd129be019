"""Corrupt media: 100 mutated real files through the decode calculators never crash or hang.

Small real clips (H.264+AAC .mp4 and .mkv, MPEG-4 video in .avi; a tone as .wav, .m4a,
.mp3, .flac) get byte flips and truncations, in the header and in the payload, drawn from
`random.Random(SEED)`. A child process (`_corrupt_worker`) runs each file through a graph
with VideoDecoderCalculator or AudioDecoderCalculator, so a native crash fails this test
instead of killing pytest. Every run must end with frames and no error, or with a
mediagraph error that names the file (and the last good timestamp when frames came out).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability._corrupt_worker import RUN_TIMEOUT_S, make_sources, mutate_all

pytestmark = pytest.mark.timeout(60)

SEED = 20_260_407
COUNT = 100
CHILD_TIMEOUT_S = 40.0  # room for one run to hit RUN_TIMEOUT_S and still be reported
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """Run the child over the mutated files: (returncode or None on timeout, stderr, manifest,
    results by file)."""
    folder = tmp_path_factory.mktemp("corrupt")
    manifest = mutate_all(make_sources(folder / "sources"), folder / "mutated", COUNT, SEED)
    manifest_path, results_path = folder / "manifest.json", folder / "results.jsonl"
    manifest_path.write_text(json.dumps(manifest))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    command = [sys.executable, "-m", "tests.reliability._corrupt_worker", str(manifest_path),
               str(results_path)]
    try:
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT_S, check=False)
        returncode, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        returncode = None
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (
            exc.stderr or "")
    results = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            result = json.loads(line)
            results[result["file"]] = result
    return returncode, stderr, manifest, results


def _last_started(stderr: str) -> str:
    started = [line[6:] for line in stderr.splitlines() if line.startswith("START ")]
    return started[-1] if started else "(none)"


def test_decoding_never_crashes_the_process(outcome):
    returncode, stderr, _, _ = outcome
    assert returncode is not None, (
        f"the decoding process hung for {CHILD_TIMEOUT_S} s; last file started: "
        f"{_last_started(stderr)}")
    assert returncode == 0, (
        f"the decoding process died (exit {returncode}) on {_last_started(stderr)}\n"
        f"{stderr[-3000:]}")


def test_every_file_has_a_result(outcome):
    _, stderr, manifest, results = outcome
    missing = [entry["file"] for entry in manifest if entry["file"] not in results]
    assert not missing, (f"{len(missing)} file(s) without a result, first {missing[0]}; "
                         f"last started: {_last_started(stderr)}")


def test_no_run_hangs(outcome):
    _, _, _, results = outcome
    slow = [(r["file"], r["seconds"]) for r in results.values()
            if r["timed_out"] or r["seconds"] > RUN_TIMEOUT_S]
    assert not slow, f"runs that hung or took over {RUN_TIMEOUT_S} s: {slow}"


def test_every_run_ends_with_frames_or_an_error_naming_the_file(outcome):
    _, _, _, results = outcome
    bad = []
    for r in results.values():
        if r["error_type"] is None:
            if r["frames"] == 0:
                bad.append((r["file"], r["mutation"], "no frames and no error"))
        elif not r["error_is_mediagraph"] or r["file"] not in r["error_message"]:
            bad.append((r["file"], r["mutation"], f"{r['error_type']}: {r['error_message']}"))
        elif r["frames"] and f"last good timestamp {r['last_timestamp']} µs" not in (
                r["error_message"]):
            bad.append((r["file"], r["mutation"],
                        (f"{r['frames']} frame(s) up to {r['last_timestamp']} µs, but the "
                         f"error does not say so: {r['error_message']}")))
    assert not bad, "unclear endings:\n" + "\n".join(map(str, bad))


def test_the_mutations_exercise_both_endings(outcome):
    """Damage must be both survivable and detected, or the test above could not fail."""
    _, _, manifest, results = outcome
    endings = collections.Counter(
        ("frames" if r["error_type"] is None else
         "frames then error" if r["frames"] else "error") for r in results.values())
    assert endings["frames"] >= 10, endings
    assert endings["frames then error"] >= 10, endings
    assert endings["error"] >= 10, endings
    kinds = collections.Counter(entry["kind"] for entry in manifest)
    media = collections.Counter(Path(entry["file"]).suffix for entry in manifest)
    assert len(kinds) == 5 and min(kinds.values()) >= 10, kinds
    assert len(media) == 7 and min(media.values()) >= 14, media
