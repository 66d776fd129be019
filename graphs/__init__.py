"""mediagraph's bundled graph configs, installed as package resources.

`mediagraph graphs` lists them; `mediagraph run NAME` runs one by name; subgraphs here
(`type:` set) resolve by that name in any config. Registered through the
`mediagraph.graphs` entry-point group, the same way a plugin ships its own graphs.
"""
