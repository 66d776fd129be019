"""Draw a validated graph: Graphviz DOT text, and SVG/HTML when Graphviz is installed;
`to_json` gives the same nodes and edges as data, for a page that draws them itself.

Nodes are boxes labelled name + calculator, graph inputs are ellipses, nodes expanded
from a subgraph sit in a cluster per subgraph instance, back edges and side-packet
edges are dashed.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path
from typing import Any


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Any) -> str:
    """DOT text for `graph` (a `mediagraph.Graph`)."""
    lines = ["digraph mediagraph {", "  rankdir=TB;",
             '  node [shape=box, fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    clusters: dict[tuple[str, ...], list[str]] = {}
    for spec in graph.spec.nodes:
        clusters.setdefault(spec.origin.path, []).append(spec.name)
    for name, data in graph.dag.nodes(data=True):
        if data.get("graph_input"):
            lines.append(f"  {_quote(name)} [label={_quote(name.split(':', 1)[1])}, "
                         "shape=ellipse];")
    for path, names in clusters.items():
        indent = "  "
        if path:
            lines.append(f"  subgraph {_quote('cluster_' + ' > '.join(path))} {{")
            lines.append(f"    label={_quote(' > '.join(path))}; style=rounded; color=gray;")
            indent = "    "
        for name in names:
            data = graph.dag.nodes[name]
            lines.append(f"{indent}{_quote(name)} [label={_quote(name + chr(10) + data['calculator'])}];")
        if path:
            lines.append("  }")
    for u, v, data in graph.dag.edges(data=True):
        style = ", style=dashed" if data.get("back_edge") or data.get("kind") == "side" else ""
        lines.append(f"  {_quote(u)} -> {_quote(v)} [label={_quote(data['stream'])}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(graph: Any) -> dict[str, Any]:
    """The nodes and edges `to_dot` draws, as JSON data: nodes {id, label, calculator,
    kind ("input" or "node"), subgraph}, edges {source, target, stream, dashed}."""
    paths = {spec.name: " > ".join(spec.origin.path) for spec in graph.spec.nodes}
    nodes = []
    for name, data in graph.dag.nodes(data=True):
        if data.get("graph_input"):
            nodes.append({"id": name, "label": name.split(":", 1)[1], "calculator": "",
                          "kind": "input", "subgraph": ""})
        else:
            nodes.append({"id": name, "label": name, "calculator": data["calculator"],
                          "kind": "node", "subgraph": paths.get(name, "")})
    edges = [{"source": u, "target": v, "stream": data["stream"],
              "dashed": bool(data.get("back_edge") or data.get("kind") == "side")}
             for u, v, data in graph.dag.edges(data=True)]
    return {"nodes": nodes, "edges": edges}


def render(graph: Any, output: str | Path) -> Path:
    """Write `output` as .dot, .svg or .html (the last two need Graphviz's `dot`)."""
    target = Path(output)
    dot = to_dot(graph)
    suffix = target.suffix.lower()
    if suffix in ("", ".dot", ".gv"):
        target.write_text(dot)
        return target
    if suffix not in (".svg", ".html", ".png"):
        raise ValueError(f"cannot draw to '{target}': use .dot, .svg, .png or .html")
    exe = shutil.which("dot")
    if exe is None:
        raise FileNotFoundError(f"drawing '{target}' needs Graphviz's `dot` (Debian: apt-get "
                                "install graphviz); write a .dot file instead")
    fmt = "png" if suffix == ".png" else "svg"
    result = subprocess.run([exe, f"-T{fmt}"], input=dot.encode(), capture_output=True,
                            timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"graphviz failed: {result.stderr.decode(errors='replace')}")
    if suffix == ".html":
        body = result.stdout.decode()
        title = html.escape(graph.spec.source or "mediagraph")
        target.write_text(f"<!doctype html><meta charset=utf-8><title>{title}</title>\n{body}\n")
    else:
        target.write_bytes(result.stdout)
    return target
