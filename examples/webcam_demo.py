"""Show your webcam in a window with the frame rate drawn; q or Esc quits.

    python examples/webcam_demo.py [CAMERA_INDEX]

Runs graphs/webcam_preview.pbtxt. Without a camera or a display it says which is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mediagraph as mg

GRAPH = Path(__file__).resolve().parent.parent / "graphs" / "webcam_preview.pbtxt"


def main() -> int:
    index = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    graph = mg.Graph(GRAPH)
    try:
        graph.start_run({"input_camera": index})
        graph.wait_until_done()
    except KeyboardInterrupt:
        graph.cancel()
    except Exception as exc:  # one error, or an ExceptionGroup when camera and window both fail
        for error in getattr(exc, "exceptions", [exc]):
            print(f"webcam demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
