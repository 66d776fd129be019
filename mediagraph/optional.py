"""Import a package only when a calculator first needs it.

Heavy or native packages (PyAV, OpenCV, sounddevice) are imported in `open()`, not at
module import, so loading the calculator library costs nothing and a missing package
fails the node that needs it with a message saying what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mediagraph.errors import MissingDependencyError

# Modules whose pip package has another name.
_PACKAGES = {"cv2": "opencv-python"}


def require(module: str, *, purpose: str, extra: str | None = None,
            package: str | None = None) -> ModuleType:
    """Import `module`, or raise `MissingDependencyError` naming what to install.

    `purpose` says who needs it ("VideoDecoderCalculator"); `extra` is the mediagraph
    extra that brings the package (None: a core dependency, installed by name);
    `package` is the pip name when it differs from the module's and is not known here.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        name = package or _PACKAGES.get(module, module)
        raise MissingDependencyError(name, extra, purpose) from None
