"""ConcatenateVectorCalculator and ConcatenateListsCalculator: join inputs in stream order.

MediaPipe registers one template instance per element type (ConcatenateDetectionVector,
ConcatenateRenderDataVector, ConcatenateNormalizedLandmarkList, ...); here two classes
do the work, and MediaPipe's typed names are aliases, so its graphs load unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mediagraph import Calculator, CalculatorContext, Inputs, NodeConfig, Options, Output, option
from mediagraph.calculators.core._typed_names import typed_names
from mediagraph.formats import LandmarkList, NormalizedLandmarkList


class ConcatenateVectorCalculatorOptions(
        Options, proto_name="mediapipe.ConcatenateVectorCalculatorOptions", extension=259397839):
    """MediaPipe's `concatenate_vector_calculator.proto`."""

    only_emit_if_all_present: bool = option(
        1, default=False, doc="send nothing at a timestamp where an input has no packet")


class _Concatenate(Calculator, register=False):
    """What the vector and list calculators share: ports, options, the presence rule."""

    Options = ConcatenateVectorCalculatorOptions

    inputs = Inputs(tag="")
    out = Output(tag="")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.count(cls.inputs) == 0:
            raise ValueError("connect at least one untagged input")

    def present(self, cc: CalculatorContext) -> list[Any] | None:
        """The values at this timestamp in stream order, or None when nothing goes out."""
        values = [cc.get(self.inputs[i]) for i in range(cc.count(self.inputs))]
        if self.options.only_emit_if_all_present and any(v is None for v in values):
            return None
        return [v for v in values if v is not None]


class ConcatenateVectorCalculator(_Concatenate):
    """Concatenate the lists (or single items) on the untagged inputs into one list.

    Each input carries a list of T (appended element by element) or one T (appended as
    is), in stream index order; an input without a packet at the timestamp adds nothing.
    With `only_emit_if_all_present`, a timestamp where any input is missing sends
    nothing.

    Inputs:  untagged, one or more: list[T] or T
    Outputs: untagged: list[T]
    Options: ConcatenateVectorCalculatorOptions (ext 259397839): only_emit_if_all_present

    Example config (MediaPipe's name for detections):
        node {
          calculator: "ConcatenateDetectionVectorCalculator"
          input_stream: "face_detections"
          input_stream: "palm_detections"
          output_stream: "all_detections"
        }
    """

    def process(self, cc: CalculatorContext) -> None:
        values = self.present(cc)
        if values is None:
            return
        joined: list[Any] = []
        for value in values:
            if isinstance(value, (list, tuple)):
                joined.extend(value)
            else:
                joined.append(value)
        cc.send(self.out, joined)


class ConcatenateListsCalculator(_Concatenate):
    """Concatenate landmark (or classification) lists into one list of the same type.

    The items of each input's list (`landmark` of a NormalizedLandmarkList or
    LandmarkList, `classification` of a ClassificationList) are joined in stream index
    order into one list of the first present input's type; an input without a packet at
    the timestamp adds nothing. With `only_emit_if_all_present`, a timestamp where any
    input is missing sends nothing.

    Inputs:  untagged, one or more: NormalizedLandmarkList, LandmarkList or
             ClassificationList, all of one type
    Outputs: untagged: the same type
    Options: ConcatenateVectorCalculatorOptions (ext 259397839): only_emit_if_all_present

    Example config (MediaPipe's iris_landmark_left_and_right_cpu.pbtxt):
        node {
          calculator: "ConcatenateNormalizedLandmarkListCalculator"
          input_stream: "left_eye_contour_landmarks"
          input_stream: "right_eye_contour_landmarks"
          output_stream: "eye_contour_landmarks"
        }
    """

    def process(self, cc: CalculatorContext) -> None:
        values = self.present(cc)
        if not values:
            return
        kind = type(values[0])
        if isinstance(values[0], (NormalizedLandmarkList, LandmarkList)):
            for value in values:
                if type(value) is not kind:
                    raise TypeError(f"inputs mix {kind.__name__} and {type(value).__name__}")
            cc.send(self.out, kind.concatenate(values))
            return
        field = _items_field(values[0])
        items: list[Any] = []
        for value in values:
            if type(value) is not kind:
                raise TypeError(f"inputs mix {kind.__name__} and {type(value).__name__}")
            items.extend(getattr(value, field))
        cc.send(self.out, kind(**{field: tuple(items)}))


def _items_field(value: Any) -> str:
    """The name of a list message's one repeated field."""
    if not dataclasses.is_dataclass(value):
        raise TypeError(f"expected a landmark or classification list, got "
                        f"{type(value).__name__}")
    names = [f.name for f in dataclasses.fields(value)]
    if len(names) != 1:
        raise TypeError(f"{type(value).__name__} is not a list message (fields {names})")
    return names[0]


# MediaPipe's registered instances (concatenate_vector_calculator.cc,
# concatenate_detection_vector_calculator.cc); "LandmarList" is its kept typo.
_VECTOR_KINDS = (
    "FloatVector", "Int32Vector", "UInt64Vector", "BoolVector", "StringVector",
    "TfLiteTensorVector", "TensorVector", "LandmarkVector", "LandmarkListVector",
    "NormalizedLandmarkListVector", "LandmarListVector", "ClassificationListVector",
    "RenderDataVector", "ImageVector", "DetectionVector")
VECTOR_ALIASES = typed_names(ConcatenateVectorCalculator,
                             [f"Concatenate{kind}Calculator" for kind in _VECTOR_KINDS])

# concatenate_proto_list_calculator.cc
LIST_ALIASES = typed_names(ConcatenateListsCalculator, [
    "ConcatenateNormalizedLandmarkListCalculator", "ConcatenateLandmarkListCalculator",
    "ConcatenateClassificationListCalculator"])
