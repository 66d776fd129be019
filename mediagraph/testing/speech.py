"""Test media with speech at known times: espeak-ng phrases between known silences.

    path, intervals = make_speech("speech.wav", ["hello there", "one two three"])
    # intervals: [(1.0, 1.83), (2.83, 3.91)]  seconds where each phrase is audible

Each phrase is synthesized by `espeak-ng` (a subprocess, to a temporary wav), trimmed to
where it is audible, resampled to `rate` and placed between `silence_s` of digital
silence (also before the first and after the last), so voice-activity tests know the
true speech intervals to within a few milliseconds. Writes 16-bit mono PCM wav.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

__all__ = ["SpeechSynthesisUnavailable", "make_speech", "synthesize", "write_wav"]

_AUDIBLE = 0.02  # fraction of the phrase's peak above which a sample counts as audible


class SpeechSynthesisUnavailable(RuntimeError):
    """espeak-ng is not installed (or failed)."""


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthesisUnavailable(
            "espeak-ng is not installed: test speech is synthesized with it; install the "
            "Debian package 'espeak-ng' (apt install espeak-ng)")
    return exe


def synthesize(text: str, rate: int = 16000, *, voice: str = "en") -> np.ndarray:
    """One phrase as float32 mono samples at `rate`, trimmed to where it is audible."""
    exe = _espeak()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "phrase.wav"
        result = subprocess.run([exe, "-v", voice, "-w", str(out), text],
                                capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0 or not out.is_file():
            raise SpeechSynthesisUnavailable(f"espeak-ng failed on {text!r}: "
                                             f"{result.stderr.strip() or result.returncode}")
        samples, source_rate = read_wav(out)
    samples = _resample(samples, source_rate, rate)
    level = np.abs(samples)
    audible = np.flatnonzero(level > _AUDIBLE * level.max()) if level.size else []
    if len(audible) == 0:
        raise SpeechSynthesisUnavailable(f"espeak-ng produced no audible audio for {text!r}")
    return np.ascontiguousarray(samples[audible[0]:audible[-1] + 1])


def make_speech(path: str | os.PathLike[str], phrases: list[str], silence_s: float = 1.0,
                rate: int = 16000) -> tuple[Path, list[tuple[float, float]]]:
    """Write phrases separated by `silence_s` of silence; returns (path, speech intervals)."""
    if silence_s < 0 or rate <= 0:
        raise ValueError("silence_s must not be negative and rate must be positive")
    gap = np.zeros(round(silence_s * rate), np.float32)
    parts = [gap]
    intervals: list[tuple[float, float]] = []
    position = gap.size
    for phrase in phrases:
        voiced = synthesize(phrase, rate)
        intervals.append((position / rate, (position + voiced.size) / rate))
        parts += [voiced, gap]
        position += voiced.size + gap.size
    return write_wav(path, np.concatenate(parts), rate), intervals


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int) -> Path:
    """Write float mono samples in [-1, 1] as 16-bit PCM wav."""
    path = Path(path)
    pcm = (np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(pcm.tobytes())
    return path


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """A 16-bit PCM wav as float32 mono samples (channels averaged) and its rate."""
    with wave.open(str(path), "rb") as src:
        if src.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM wav is read here")
        channels, rate = src.getnchannels(), src.getframerate()
        data = np.frombuffer(src.readframes(src.getnframes()), "<i2")
    samples = data.reshape(-1, channels).mean(axis=1) / 32768.0
    return samples.astype(np.float32), rate


def _resample(samples: np.ndarray, source: int, target: int) -> np.ndarray:
    # Linear interpolation is plenty for synthetic test speech (espeak-ng is 22050 Hz).
    if source == target or samples.size == 0:
        return samples.astype(np.float32)
    count = round(samples.size * target / source)
    positions = np.arange(count) * (source / target)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)
