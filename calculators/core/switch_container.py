"""SwitchContainer: route packets through one of several contained nodes.

MediaPipe's subgraph (`mediapipe/framework/tool/switch_container.cc`) and its two
calculators. The container node

    node {
      calculator: "SwitchContainer"
      input_side_packet: "SELECT:model_selection"     # or ENABLE, as a stream or side packet
      input_stream: "IMAGE:image"
      output_stream: "TENSORS:tensors"
      options { [mediapipe.SwitchContainerOptions.ext] {
        select: 0
        contained_node { calculator: "ImageToTensorCalculator" ... }
        contained_node { calculator: "ImageToTensorCalculator" ... }
      } }
    }

expands at load into

    SwitchDemuxCalculator -> contained_node[c] on streams "c<c>__<name>" -> SwitchMuxCalculator

Each contained node gets the container's tags (`IMAGE:c0__image`, `TENSORS:c0__tensors`),
as MediaPipe wires them. The channel comes from the SELECT (int) or ENABLE (bool: channel 1
when true) stream or side packet, else from the options' `select` / `enable`, else 0.
Input side packets go to every channel; output side packets come from the selected one.

mediagraph's ports are declared per class, so the demux and mux take the channels as
untagged streams in channel-major order (channel c, container stream i at index
c * n + i) where MediaPipe gives them tags `C<c>__<TAG>`; the stream names match
MediaPipe's. Both calculators always synchronize the selection with the data (MediaPipe's
`synchronize_io`); `async_selection` and `tick_input_stream` are accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from mediagraph import (Calculator, CalculatorContext, Input, Inputs, NodeConfig, Options, Outputs,
                        SideInput, SideInputs, SideOutputs, Stop, at_most_one, option, registry)
from mediagraph.config import pool
from mediagraph.config.names import assign_indexes, parse_spec
from mediagraph.config.options_access import find_node_options, set_node_options
from mediagraph.errors import SubgraphError

__all__ = ["SwitchCalculatorOptions", "SwitchDemuxCalculator", "SwitchMuxCalculator",
           "switch_container_config"]

_OPTIONS = "mediapipe.SwitchContainerOptions"
_CONTROL_TAGS = ("SELECT", "ENABLE")


class SwitchCalculatorOptions(Options, proto_name="mediagraph.SwitchCalculatorOptions"):
    """What SwitchContainer tells its demux and mux: the channel count and the default
    selection (MediaPipe passes them the whole SwitchContainerOptions)."""

    channels: int = option(1, default=0, doc="the number of contained nodes")
    select: int | None = option(2, default=None, proto="int32")
    enable: bool | None = option(3, default=None, proto="bool")

    def check(self) -> None:
        default = int(self.enable) if self.enable is not None else (self.select or 0)
        _check_channel(default, self.channels)


class _Switch(Calculator, register=False):
    """The selection logic the demux and mux share."""

    Options = SwitchCalculatorOptions

    select_stream = Input(int, tag="SELECT", optional=True)
    enable_stream = Input(bool, tag="ENABLE", optional=True)
    inputs = Inputs(tag="")
    outputs = Outputs(tag="")
    side_inputs = SideInputs(tag="")
    side_outputs = SideOutputs(tag="")
    select_side = SideInput(int, tag="SELECT", optional=True)
    enable_side = SideInput(bool, tag="ENABLE", optional=True)
    groups = (at_most_one(select_stream, enable_stream, select_side, enable_side,
                          message="connect only one of SELECT and ENABLE, as a stream or a "
                                  "side packet"),)

    def _open_selection(self, cc: CalculatorContext) -> None:
        opts: SwitchCalculatorOptions = self.options
        self._channels = opts.channels
        controls = [p for p in (self.select_stream, self.enable_stream, self.select_side,
                                self.enable_side) if cc.connected(p)]
        self._control = controls[0] if controls and controls[0].kind == "input" else None
        self._side_only = self._control is None and not cc.count(self.inputs)
        if controls and self._control is None:
            self._channel = self._checked(self._to_channel(controls[0],
                                                           cc.side(controls[0])))
        elif opts.enable is not None:
            self._channel = self._checked(int(opts.enable))
        else:
            self._channel = self._checked(opts.select or 0)

    def _update_selection(self, cc: CalculatorContext) -> int:
        if self._control is not None:
            value = cc.get(self._control)
            if value is not None:
                self._channel = self._checked(self._to_channel(self._control, value))
        return self._channel

    def _to_channel(self, port: Any, value: Any) -> int:
        if port.tag == "ENABLE":
            return 1 if value else 0
        return int(value)

    def _checked(self, channel: int) -> int:
        _check_channel(channel, self._channels)
        return channel

    @staticmethod
    def _layout(node: NodeConfig, outer: Any, inner: Any, what: str) -> int:
        """How many container streams `outer` carries; `inner` has one per channel."""
        channels = node.options.channels
        n, total = node.count(outer), node.count(inner)
        if total != n * channels:
            raise ValueError(f"{total} channel {what} for {n} container {what} and "
                             f"{channels} channels; expected {n * channels}")
        return n


def _check_channel(channel: int, channels: int) -> None:
    if not 0 <= channel < channels:
        raise ValueError(f"selected channel {channel} is out of range: the SwitchContainer "
                         f"has {channels} contained nodes (channels 0 to {channels - 1})")


class SwitchDemuxCalculator(_Switch):
    """Send each input to the selected channel's copy of it (part of SwitchContainer).

    Inputs:  untagged data streams (any), one per container input; SELECT (int) or
             ENABLE (bool), optional
    Outputs: untagged, channel-major: channel c's copy of input i at index c * n + i
    Side inputs: SELECT or ENABLE (optional); untagged side packets, one per container
             side input
    Side outputs: untagged, channel-major; every channel gets every side packet
    Options: SwitchCalculatorOptions: channels, select, enable

    Example config (SwitchContainer writes it):
        node {
          calculator: "SwitchDemuxCalculator"
          input_side_packet: "SELECT:model_selection"
          input_stream: "image"
          output_stream: "c0__image"
          output_stream: "c1__image"
          options { [mediagraph.SwitchCalculatorOptions.ext] { channels: 2 } }
        }
    """

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        cls._layout(node, cls.inputs, cls.outputs, "input streams")
        cls._layout(node, cls.side_inputs, cls.side_outputs, "input side packets")

    def open(self, cc: CalculatorContext) -> None:
        self._open_selection(cc)
        self._n = cc.count(self.inputs)
        sides = cc.count(self.side_inputs)
        for i in range(sides):
            value = cc.side(self.side_inputs[i])
            for channel in range(self._channels):
                cc.set_side(self.side_outputs[channel * sides + i], value)

    def process(self, cc: CalculatorContext) -> Any:
        if self._side_only:
            return Stop  # no streams connected: a side-packet node, done after open
        base = self._update_selection(cc) * self._n
        for i in range(self._n):
            packet = cc.packet(self.inputs[i])
            if packet is not None:
                cc.send_packet(self.outputs[base + i], packet)


class SwitchMuxCalculator(_Switch):
    """Forward the selected channel's outputs as the container's (part of SwitchContainer).

    Inputs:  untagged, channel-major: channel c's output i at index c * n + i;
             SELECT (int) or ENABLE (bool), optional
    Outputs: untagged, one per container output
    Side inputs: SELECT or ENABLE (optional); untagged, channel-major channel side outputs
    Side outputs: untagged, one per container side output, from the selected channel
    Options: SwitchCalculatorOptions: channels, select, enable

    Example config (SwitchContainer writes it):
        node {
          calculator: "SwitchMuxCalculator"
          input_side_packet: "SELECT:model_selection"
          input_stream: "c0__tensors"
          input_stream: "c1__tensors"
          output_stream: "tensors"
          options { [mediagraph.SwitchCalculatorOptions.ext] { channels: 2 } }
        }
    """

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        cls._layout(node, cls.outputs, cls.inputs, "output streams")
        sides = cls._layout(node, cls.side_outputs, cls.side_inputs, "output side packets")
        if sides and (node.connected(cls.select_stream) or node.connected(cls.enable_stream)):
            raise ValueError("output side packets need the selection fixed for the run: "
                             "a SELECT/ENABLE side packet or option, not a stream")

    def open(self, cc: CalculatorContext) -> None:
        self._open_selection(cc)
        self._n = cc.count(self.outputs)
        sides = cc.count(self.side_outputs)
        for i in range(sides):
            cc.set_side(self.side_outputs[i],
                        cc.side(self.side_inputs[self._channel * sides + i]))

    def process(self, cc: CalculatorContext) -> Any:
        if self._side_only:
            return Stop  # no streams connected: a side-packet node, done after open
        base = self._update_selection(cc) * self._n
        for i in range(self._n):
            packet = cc.packet(self.inputs[base + i])
            if packet is not None:
                cc.send_packet(self.outputs[i], packet)


# -- the subgraph -------------------------------------------------------------------------

def switch_container_config(node: Any) -> Any:
    """The config a SwitchContainer `node` expands into (MediaPipe's GetConfig)."""
    node_name = node.name or node.calculator
    options = find_node_options(node, _OPTIONS)
    if options is None:
        options = pool.message_class(_OPTIONS)()
    contained = list(options.contained_node)
    if not contained:
        raise SubgraphError("SwitchContainer needs at least one contained_node",
                            node=node_name)
    if options.HasField("select") and options.HasField("enable"):
        raise SubgraphError("SwitchContainer options set both 'select' and 'enable'; set one",
                            node=node_name)
    channels = len(contained)
    if options.HasField("select") and not 0 <= options.select < channels:
        raise SubgraphError(f"SwitchContainer option select: {options.select} is out of "
                            f"range: there are {channels} contained nodes (0 to "
                            f"{channels - 1})", node=node_name)
    if options.HasField("enable") and channels < 2 and options.enable:
        raise SubgraphError("SwitchContainer option enable: true selects channel 1, but "
                            "there is only one contained node", node=node_name)

    streams_in, control_in = _split(node.input_stream, "input stream", node_name)
    streams_out, _ = _split(node.output_stream, "output stream", node_name)
    sides_in, control_side = _split(list(node.input_side_packet) + list(node.external_input),
                                    "input side packet", node_name)
    sides_out, _ = _split(node.output_side_packet, "output side packet", node_name)
    if len(control_in) + len(control_side) > 1:
        raise SubgraphError("SwitchContainer takes one of SELECT and ENABLE, as a stream or "
                            "a side packet, not several", node=node_name)

    config = pool.CalculatorGraphConfig()
    config.type = "SwitchContainer"
    settings = {"channels": channels}
    if options.HasField("select"):
        settings["select"] = options.select
    if options.HasField("enable"):
        settings["enable"] = options.enable
    switch_options = SwitchCalculatorOptions(**settings).to_message()

    demux = pool.Node(calculator="SwitchDemuxCalculator", name="switch_demux")
    mux = pool.Node(calculator="SwitchMuxCalculator", name="switch_mux")
    for holder in (demux, mux):
        set_node_options(holder, switch_options)
        holder.input_stream.extend(_cat(t, i, n) for t, i, n in control_in)
        holder.input_side_packet.extend(_cat(t, i, n) for t, i, n in control_side)
    config.input_stream.extend(_cat(t, i, n) for t, i, n in control_in + streams_in)
    config.output_stream.extend(_cat(t, i, n) for t, i, n in streams_out)
    config.input_side_packet.extend(_cat(t, i, n) for t, i, n in control_side + sides_in)
    config.output_side_packet.extend(_cat(t, i, n) for t, i, n in sides_out)
    demux.input_stream.extend(n for _, _, n in streams_in)
    demux.input_side_packet.extend(n for _, _, n in sides_in)
    mux.output_stream.extend(n for _, _, n in streams_out)
    mux.output_side_packet.extend(n for _, _, n in sides_out)

    inners = []
    for channel, template in enumerate(contained):
        inner = pool.Node()
        inner.CopyFrom(template)
        inners.append(inner)
        if not inner.name:
            inner.name = f"c{channel}__{template.calculator.replace('.', '_')}"
        for tag, index, name in streams_in:
            demux.output_stream.append(f"c{channel}__{name}")
            inner.input_stream.append(_cat(tag, index, f"c{channel}__{name}"))
        for tag, index, name in streams_out:
            inner.output_stream.append(_cat(tag, index, f"c{channel}__{name}"))
            mux.input_stream.append(f"c{channel}__{name}")
        for tag, index, name in sides_in:
            demux.output_side_packet.append(f"c{channel}__{name}")
            inner.input_side_packet.append(_cat(tag, index, f"c{channel}__{name}"))
        for tag, index, name in sides_out:
            inner.output_side_packet.append(_cat(tag, index, f"c{channel}__{name}"))
            mux.input_side_packet.append(f"c{channel}__{name}")
    config.node.extend([demux, *inners, mux])  # copies: every node is complete by now
    return config


def _split(specs: Any, what: str, node_name: str
           ) -> tuple[list[tuple[str, int, str]], list[tuple[str, int, str]]]:
    """The node's (tag, index, name) entries: the data ones, and SELECT/ENABLE."""
    parsed = [parse_spec(s, what=what, node=node_name) for s in specs]
    keys = assign_indexes(parsed, what=what, node=node_name)
    data, control = [], []
    for spec, (tag, index) in zip(parsed, keys):
        (control if tag in _CONTROL_TAGS else data).append((tag, index, spec.name))
    return data, control


def _cat(tag: str, index: int, name: str) -> str:
    """MediaPipe's `TAG:index:name`, shortened where the index is 0."""
    if index == 0:
        return f"{tag}:{name}" if tag else name
    return f"{tag}:{index}:{name}"


def _switch_container(options: Any, node: Any) -> Any:
    """The registered factory: the expansion passes the SwitchContainer node itself."""
    return switch_container_config(node)


registry.register_subgraph("SwitchContainer", _switch_container)
