"""`mediagraph serve`: a graph of an image stream behind a web page and an HTTP API.

Built on aiohttp (the `serve` extra) and `Graph.arun`: the server is one event loop; the
graphs run on their own threads, image decoding and encoding on worker threads, so the
loop only moves bytes. Modules, one concept each:

- `app`: the routes (`create_app`), the shared state, the JSON error answers.
- `live`: one WebSocket client's graph run, its frame protocol and its flow control.
- `pool`: warm graphs for one-image requests (`--workers`), and one run over one image.
- `images`: JPEG/PNG bytes to `ImageFrame` and back; a bad upload says what is wrong.
- `results`: output values as JSON with MediaPipe's field names.
- `figures`: rates and recent percentiles for the live figures.
- `command`: the `mediagraph serve` command line.
- `static/`: the page (plain HTML and JS, no build step, nothing fetched from outside).

Nothing here imports aiohttp at module import: `mediagraph` works without the extra, and
`mediagraph serve` says what to install when it is missing.
"""

from mediagraph.serve.command import add_serve_parser

__all__ = ["add_serve_parser"]
