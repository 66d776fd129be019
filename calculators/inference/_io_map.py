"""MediaPipe's `input_output_config`: which model tensor each TENSORS entry is, and feedback.

The calculator's TENSORS vectors need not follow the model's own input and output order:
an indices map or a names map says, for each calculator tensor in turn, which model tensor
it is. A feedback link names a model output that goes back into a model input on the next
call (a recurrent model's state, e.g. Silero VAD's); both ends leave the TENSORS vectors,
and the state starts as zeros at each run. Everything is checked against the model at
`open`, so a wrong name or index fails there, listing what the model has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediagraph.calculators.inference._backends import TensorSpec


@dataclass
class IoMap:
    """Model input index per calculator input, model output index per calculator output,
    and (model output, model input) feedback pairs with their current values."""

    inputs: list[int]
    outputs: list[int]
    feedback: list[tuple[int, int]] = field(default_factory=list)
    model_inputs: int = 0
    state: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def identity(self) -> bool:
        return (not self.feedback and self.inputs == list(range(self.model_inputs))
                and self.outputs == sorted(self.outputs) == list(range(len(self.outputs))))

    def model_arrays(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The calculator's tensors plus the fed-back state, in the model's input order."""
        full: list[Any] = [None] * self.model_inputs
        for index, array in zip(self.inputs, arrays):
            full[index] = array
        for index, value in self.state.items():
            full[index] = value
        return full

    def calculator_outputs(self, outputs: list[np.ndarray]) -> list[np.ndarray]:
        """Keep the new state; the calculator's outputs in its order."""
        for out_index, in_index in self.feedback:
            self.state[in_index] = np.ascontiguousarray(outputs[out_index])
        return [outputs[i] for i in self.outputs]


def build(config: Any, inputs: list[TensorSpec], outputs: list[str], *,
          aliases: dict[str, str] | None = None, where: str) -> IoMap:
    """The IoMap for the `InputOutputConfig` options (None: the model's own order)."""
    in_names = [spec.name for spec in inputs]
    aliases = aliases or {}
    feedback: list[tuple[int, int]] = []
    for link in (config.feedback_tensor_links if config is not None else ()):
        out_index = _index_of(link.from_output_tensor_name, outputs, aliases,
                              f"{where}: feedback from_output_tensor_name", "outputs")
        in_index = _index_of(link.to_input_tensor_name, in_names, aliases,
                             f"{where}: feedback to_input_tensor_name", "inputs")
        feedback.append((out_index, in_index))
    fed_in = {i for _, i in feedback}
    fed_out = {o for o, _ in feedback}
    free_in = [i for i in range(len(inputs)) if i not in fed_in]
    free_out = [i for i in range(len(outputs)) if i not in fed_out]
    in_map = _side(config, "input", in_names, aliases, free_in, where)
    out_map = _side(config, "output", outputs, aliases, free_out, where)
    state = {i: np.zeros([d if d > 0 else 1 for d in inputs[i].shape], inputs[i].dtype)
             for i in fed_in}
    return IoMap(in_map, out_map, feedback, len(inputs), state)


def _side(config: Any, side: str, names: list[str], aliases: dict[str, str], free: list[int],
          where: str) -> list[int]:
    indices = getattr(config, f"{side}_tensor_indices_map", None) if config else None
    named = getattr(config, f"{side}_tensor_names_map", None) if config else None
    # Validation rejects a side that sets both maps (InputOutputConfig.check).
    if indices is not None:
        order = list(indices.model_tensor_indices)
        for index in order:
            if index not in free:
                raise ValueError(f"{where}: {side}_tensor_indices_map has {index}, but the "
                                 f"model's {side}s are 0..{len(names) - 1}"
                                 + (" less the feedback ones" if len(free) < len(names) else ""))
    elif named is not None:
        order = [_index_of(name, names, aliases, f"{where}: {side}_tensor_names_map",
                           f"{side}s") for name in named.tensor_names]
    else:
        return free
    if sorted(order) != sorted(free):
        raise ValueError(f"{where}: the {side} map {order} must name each of the model's "
                         f"{len(free)} {side} tensors {free} once")
    return order


def _index_of(name: str, names: list[str], aliases: dict[str, str], what: str,
              kind: str) -> int:
    resolved = aliases.get(name, name)
    if resolved not in names:
        raise ValueError(f"{what} {name!r} is not one of the model's {kind} "
                         f"({', '.join(names)})")
    return names.index(resolved)
