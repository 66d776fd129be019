"""Output files written beside their target and renamed into place once complete.

A writer (an encoder, a subtitle sink) that opened its output path directly would
truncate an existing file before writing a byte, and leave half a file behind a crash.
`StagedFile` gives it a temporary name in the target's folder (same filesystem, so the
rename is atomic; same suffix, so FFmpeg still guesses the container from it);
`commit()` renames it over the target once the writer finalized it, `discard()` removes
it. Until then the target, if it existed, is untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_NEW_FILE_MODE = 0o644  # what a plain open() makes under the usual umask; mkstemp makes 0600


class StagedFile:
    """A temporary file beside `target`: write to `.path`, then `commit()` or `discard()`."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        folder = self.target.parent
        if not folder.exists():
            raise FileNotFoundError(f"output folder does not exist: '{folder}' "
                                    f"(for '{self.target}')")
        if not folder.is_dir():
            raise NotADirectoryError(f"output folder is not a folder: '{folder}' "
                                     f"(for '{self.target}')")
        if self.target.is_dir():
            raise IsADirectoryError(f"output path is a folder: '{self.target}'")
        if self.target.exists() and not os.access(self.target, os.W_OK):
            raise PermissionError(f"cannot write '{self.target}': not writable")
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=f".{self.target.name}.",
                                        suffix=self.target.suffix)
        except OSError as exc:
            raise PermissionError(f"cannot write '{self.target}': {exc.strerror}") from exc
        os.close(fd)
        self.path = Path(name)
        self.done = False

    def commit(self) -> Path:
        """Put the finished file in place of the target (keeping an existing target's mode)."""
        if self.done:
            return self.target
        try:
            mode = self.target.stat().st_mode & 0o7777
        except OSError:
            mode = _NEW_FILE_MODE
        os.chmod(self.path, mode)
        os.replace(self.path, self.target)
        self.done = True
        return self.target

    def discard(self) -> None:
        """Remove the temporary file; the target stays as it was."""
        if not self.done:
            self.path.unlink(missing_ok=True)
            self.done = True
