"""`on_error: SKIP` for the decoders: leave out what FFmpeg cannot read, and go on."""

from __future__ import annotations

import logging

logger = logging.getLogger("mediagraph.io")
MAX_IN_A_ROW = 64  # damaged packets in a row before the input counts as ended there


class DamageSkipper:
    """Counts the damaged packets a decoder leaves out; warns once per run.

    `skip(exc)` says whether to go on past one more damaged packet: not once
    `MAX_IN_A_ROW` fail in a row (no progress: the file ends at the damage). `good()`
    marks a packet that decoded, which starts the count in a row again.
    """

    def __init__(self, what: str) -> None:
        self.what = what  # "video 'in.mp4'", for the warning
        self.count = 0
        self.in_a_row = 0

    def skip(self, exc: BaseException, progress: str) -> bool:
        self.in_a_row += 1
        if self.in_a_row > MAX_IN_A_ROW:
            return False
        self.count += 1
        if self.count == 1:
            logger.warning("%s is damaged %s: skipping the packets FFmpeg cannot read (%s); "
                           "the profile counts them", self.what, progress, exc)
        return True

    def good(self) -> None:
        self.in_a_row = 0

    @property
    def profile_info(self) -> dict[str, int]:
        return {"damaged packets skipped": self.count}
