"""TensorsToLandmarksCalculator: a landmark model's raw output tensor as landmarks."""

from __future__ import annotations

import enum

import numpy as np

from mediagraph.calculators.postprocess._geometry import landmark_list
from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    NodeConfig,
    Options,
    Output,
    SideInput,
    option,
)
from mediagraph.formats import LandmarkList, NormalizedLandmarkList


class Activation(enum.IntEnum):
    """`TensorsToLandmarksCalculatorOptions.Activation`."""

    NONE = 0
    SIGMOID = 1


class TensorsToLandmarksCalculatorOptions(
        Options, proto_name="mediapipe.TensorsToLandmarksCalculatorOptions",
        extension=335742640):
    """MediaPipe's `tensors_to_landmarks_calculator.proto` (numbers and defaults)."""

    num_landmarks: int | None = option(1, default=None, proto="int32")
    input_image_width: int | None = option(2, default=None, proto="int32")
    input_image_height: int | None = option(3, default=None, proto="int32")
    flip_vertically: bool = option(4, default=False)
    normalize_z: float = option(5, default=1.0)
    flip_horizontally: bool = option(6, default=False)
    visibility_activation: Activation = option(7, default=Activation.NONE)

    def check(self) -> None:
        if not self.num_landmarks or self.num_landmarks < 1:
            raise ValueError("option num_landmarks is required")
    presence_activation: Activation = option(8, default=Activation.NONE)


def _activate(values: np.ndarray, activation: Activation) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values)) if activation == Activation.SIGMOID else values


class TensorsToLandmarksCalculator(Calculator):
    """Read `num_landmarks` landmarks from the first tensor, in the model's input pixels.

    The tensor holds num_landmarks x D values, D = size / num_landmarks: x, y, then z,
    visibility and presence when D reaches 3, 4, 5 (visibility and presence through
    their activation). Flips mirror x across `input_image_width` (y across the height);
    FLIP_HORIZONTALLY/FLIP_VERTICALLY inputs or side packets override the options.
    LANDMARKS carries the raw values (pixels, or metres for world landmarks);
    NORM_LANDMARKS divides x by the input width, y by the height and z by
    width * normalize_z.

    Inputs:  TENSORS (list of numpy arrays; the first is read);
             FLIP_HORIZONTALLY, FLIP_VERTICALLY (bool, optional)
    Outputs: LANDMARKS (LandmarkList, the raw values) and/or NORM_LANDMARKS
             (NormalizedLandmarkList)
    Side inputs: FLIP_HORIZONTALLY, FLIP_VERTICALLY (bool, optional)
    Options: TensorsToLandmarksCalculatorOptions (ext 335742640): num_landmarks,
             input_image_width, input_image_height, flip_vertically, flip_horizontally,
             normalize_z, visibility_activation, presence_activation

    Example config (MediaPipe's hand_landmark_cpu.pbtxt):
        node {
          calculator: "TensorsToLandmarksCalculator"
          input_stream: "TENSORS:ensured_landmark_tensors"
          output_stream: "NORM_LANDMARKS:landmarks"
          options { [mediapipe.TensorsToLandmarksCalculatorOptions.ext] {
            num_landmarks: 21 input_image_width: 224 input_image_height: 224
            normalize_z: 0.4 } }
        }
    """

    Options = TensorsToLandmarksCalculatorOptions

    tensors = Input(list, tag="TENSORS")
    flip_h_stream = Input(bool, tag="FLIP_HORIZONTALLY", optional=True)
    flip_v_stream = Input(bool, tag="FLIP_VERTICALLY", optional=True)
    flip_h_side = SideInput(bool, tag="FLIP_HORIZONTALLY", optional=True)
    flip_v_side = SideInput(bool, tag="FLIP_VERTICALLY", optional=True)
    landmarks = Output(LandmarkList, tag="LANDMARKS", optional=True)
    norm_landmarks = Output(NormalizedLandmarkList, tag="NORM_LANDMARKS", optional=True)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        opts: TensorsToLandmarksCalculatorOptions = node.options
        flips = (cls.flip_h_stream, cls.flip_v_stream, cls.flip_h_side, cls.flip_v_side)
        needs_size = node.connected(cls.norm_landmarks) or opts.flip_horizontally \
            or opts.flip_vertically or any(node.connected(port) for port in flips)
        if needs_size and not (opts.input_image_width and opts.input_image_height):
            raise ValueError("NORM_LANDMARKS and flips need input_image_width and "
                             "input_image_height")

    def open(self, cc: CalculatorContext) -> None:
        opts: TensorsToLandmarksCalculatorOptions = self.options
        self._flip_h = cc.side(self.flip_h_side, opts.flip_horizontally)
        self._flip_v = cc.side(self.flip_v_side, opts.flip_vertically)

    def process(self, cc: CalculatorContext) -> None:
        tensors = cc.get(self.tensors)
        if not tensors:
            return
        opts: TensorsToLandmarksCalculatorOptions = self.options
        raw = np.asarray(tensors[0], dtype=np.float64).reshape(-1)
        n = opts.num_landmarks
        if raw.size % n or raw.size < 2 * n:
            raise ValueError(f"a tensor of {raw.size} values does not hold {n} landmarks "
                             "of 2 or more values")
        values = raw.reshape(n, -1)
        dims = values.shape[1]
        xyz = np.zeros((n, 3))
        xyz[:, :min(dims, 3)] = values[:, :3]
        flip_h = cc.get(self.flip_h_stream, self._flip_h)
        flip_v = cc.get(self.flip_v_stream, self._flip_v)
        if flip_h:
            xyz[:, 0] = opts.input_image_width - xyz[:, 0]
        if flip_v:
            xyz[:, 1] = opts.input_image_height - xyz[:, 1]
        visibility = _activate(values[:, 3], opts.visibility_activation).tolist() \
            if dims > 3 else None
        presence = _activate(values[:, 4], opts.presence_activation).tolist() \
            if dims > 4 else None
        if cc.connected(self.landmarks):
            cc.send(self.landmarks, landmark_list(xyz, visibility, presence, world=True))
        if cc.connected(self.norm_landmarks):
            scale = np.array([opts.input_image_width, opts.input_image_height,
                              opts.input_image_width * opts.normalize_z], np.float64)
            cc.send(self.norm_landmarks, landmark_list(xyz / scale, visibility, presence))
