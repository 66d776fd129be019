"""`mediagraph.optional.require`: lazy imports that say what to install."""

import pytest

from mediagraph import MissingDependencyError
from mediagraph.optional import require


def test_require_returns_the_module():
    assert require("json", purpose="a test").dumps([]) == "[]"


@pytest.mark.parametrize(("module", "kwargs", "install"), [
    ("mediagraph_no_such_module", {}, "pip install mediagraph_no_such_module"),
    ("mediagraph_no_such_module", {"package": "no-such-pkg"}, "pip install no-such-pkg"),
    ("mediagraph_no_such_module", {"extra": "dsp"}, "pip install 'mediagraph[dsp]'"),
])
def test_missing_module_names_what_to_install(module, kwargs, install):
    with pytest.raises(MissingDependencyError, match="VideoDecoderCalculator") as info:
        require(module, purpose="VideoDecoderCalculator", **kwargs)
    assert str(info.value).endswith(install)
    assert isinstance(info.value, ImportError)


def test_opencv_is_named_by_its_pip_package(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *args):
        if name == "cv2":
            raise ImportError("no cv2")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(MissingDependencyError, match="pip install opencv-python"):
        require("cv2", purpose="ImageFileSourceCalculator")
