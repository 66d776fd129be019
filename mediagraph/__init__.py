"""mediagraph: MediaPipe's graph model in Python.

Write calculators as small Python classes, wire them with MediaPipe's graph configs
(`.pbtxt`/`.binarypb`, unchanged) or the Python builder, and run them on a threaded
scheduler with bounded queues, deterministic synchronization and back-pressure.
"""

from mediagraph.calculator import Calculator, CalculatorContext, NodeConfig, Stop, calculator
from mediagraph.config.builder import GraphBuilder
from mediagraph.config.loader import load_config, parse_config, to_binary, to_text
from mediagraph.errors import (CalculatorError, CalculatorTimeoutError, ConfigSyntaxError,
                               DeadlockError, DeviceUnavailableError, GraphCancelled,
                               GraphConfigError, GraphRunError, MediaGraphError,
                               MissingDependencyError, ModelIntegrityError, OptionsError,
                               PacketTypeError, QueueFullError, SubgraphError, TimestampError,
                               UnknownCalculatorError)
from mediagraph.graph import Graph
from mediagraph.observers import OutputStreamPoller
from mediagraph.options import Options, option
from mediagraph.packet import Packet
from mediagraph.port import (Input, Inputs, Output, Outputs, SideInput, SideInputs, SideOutput,
                             SideOutputs, all_or_none, at_least_one, at_most_one, one_of)
from mediagraph.config.library import add_search_path
from mediagraph.registry import register_subgraph
from mediagraph.timestamp import Timestamp

__version__ = "0.1.0"

__all__ = [
    "Calculator",
    "CalculatorContext",
    "CalculatorError",
    "CalculatorTimeoutError",
    "ConfigSyntaxError",
    "DeadlockError",
    "DeviceUnavailableError",
    "Graph",
    "GraphBuilder",
    "GraphCancelled",
    "GraphConfigError",
    "GraphRunError",
    "Input",
    "Inputs",
    "MediaGraphError",
    "MissingDependencyError",
    "ModelIntegrityError",
    "NodeConfig",
    "Options",
    "OptionsError",
    "Output",
    "OutputStreamPoller",
    "Outputs",
    "Packet",
    "PacketTypeError",
    "QueueFullError",
    "SideInput",
    "SideInputs",
    "SideOutput",
    "SideOutputs",
    "Stop",
    "SubgraphError",
    "Timestamp",
    "TimestampError",
    "UnknownCalculatorError",
    "add_search_path",
    "all_or_none",
    "at_least_one",
    "at_most_one",
    "calculator",
    "load_config",
    "one_of",
    "option",
    "parse_config",
    "register_subgraph",
    "to_binary",
    "to_text",
]
