"""What mediagraph prints to a terminal: never a control character it did not mean.

Names in configs, file names and command-line arguments reach error messages and
listings; a terminal escape among them could clear the screen, retitle the window or
worse. `printable()` spells them out, and `ArgumentParser` does so for argparse's own
messages, which echo the arguments they reject.
"""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters (terminal escapes, bells, carriage returns) spelled
    as `\\x1b`-style escapes. Newlines and tabs stay."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors never echo a control character."""

    def error(self, message: str) -> NoReturn:
        super().error(printable(message))
