"""Every calculator of mediagraph's own rejects a miswired node at validation, not at run time.

The table holds, for each calculator class mediagraph registers, one node config that
breaks one of its rules (a group of ports, an option value, a required port...) and a
fragment of the message `mg.Graph(...)` must raise. A new calculator adds an entry.
MediaPipe's typed names (`BeginLoopIntCalculator`, ...) share their generic class's entry.
"""

from __future__ import annotations

import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401  (registers the calculators)
from mediagraph import registry

pytestmark = pytest.mark.timeout(120)

# name: (ports, option fields, message fragment)
MISWIRINGS: dict[str, tuple[str, str, str]] = {
    # core
    "BeginLoopCalculator": (
        'input_stream: "ITERABLE:v" input_stream: "CLONE:0:c" output_stream: "ITEM:i" '
        'output_stream: "BATCH_END:e"', "", "1 CLONE inputs but 0 CLONE outputs"),
    "EndLoopCalculator": ('input_stream: "ITEM:i" output_stream: "ITERABLE:o"', "",
                          "required input stream BATCH_END"),
    "ClipVectorSizeCalculator": ('input_stream: "v" output_stream: "o"', "max_vec_size: 0",
                                 "max_vec_size must be at least 1, got 0"),
    "CollectionHasMinSizeCalculator": ('input_stream: "ITERABLE:v" output_stream: "o"',
                                       "min_size: -1", "min_size must not be negative"),
    "ConcatenateListsCalculator": ('input_stream: "a" input_stream: "b"', "",
                                   "required output stream :0 ('out') is not connected"),
    "ConcatenateVectorCalculator": ('output_stream: "o"', "only_emit_if_all_present: true",
                                    "connect at least one untagged input"),
    "ConstantSidePacketCalculator": (
        'output_side_packet: "PACKET:0:a" output_side_packet: "PACKET:1:b"',
        "packet { int_value: 1 }", "2 PACKET side outputs but 1 packets in the options"),
    "CountingSourceCalculator": ('output_stream: "n"', "count: -1",
                                 "count must not be negative, got -1"),
    "FlowLimiterCalculator": ('input_stream: "f" input_stream: "FINISHED:d" output_stream: "o"',
                              "max_in_flight: 0", "max_in_flight must be at least 1"),
    "GateCalculator": ('input_stream: "d" input_stream: "ALLOW:a" '
                       'input_side_packet: "DISALLOW:s" output_stream: "o"', "",
                       "GateCalculator takes one of ALLOW or DISALLOW"),
    "MakePairCalculator": ('input_stream: "a" output_stream: "p"', "",
                           "MakePairCalculator takes 2 untagged inputs, not 1"),
    "MergeCalculator": ('output_stream: "m"', "",
                        "MergeCalculator needs at least one untagged input"),
    "PacketClonerCalculator": ('input_stream: "a" input_stream: "TICK:t"', "",
                               "1 data inputs but 0 outputs"),
    "PacketPresenceCalculator": ('input_stream: "PACKET:p"', "",
                                 "required output stream PRESENCE"),
    "PassThroughCalculator": ('input_stream: "a" input_stream: "b" output_stream: "c"', "",
                              "2 inputs but 1 outputs"),
    "PreviousLoopbackCalculator": ('input_stream: "MAIN:m" output_stream: "PREV_LOOP:p"', "",
                                   "required input stream LOOP"),
    "SidePacketToStreamCalculator": (
        'input_side_packet: "v" output_stream: "AT_ZERO:a" output_stream: "AT_PRESTREAM:b"', "",
        "exactly one of AT_PRESTREAM, AT_POSTSTREAM, AT_ZERO"),
    "SplitVectorCalculator": ('input_stream: "v" output_stream: "a"',
                              "ranges { begin: 1 end: 1 }", "range [1, 1) is empty"),
    "SwitchDemuxCalculator": ('input_stream: "SELECT:s" input_side_packet: "ENABLE:e" '
                              'input_stream: "x" output_stream: "c0" output_stream: "c1"',
                              "channels: 2", "connect only one of SELECT and ENABLE"),
    "SwitchMuxCalculator": ('input_stream: "c0" output_stream: "x"', "channels: 2",
                            "1 channel output streams for 1 container output streams and 2 "
                            "channels; expected 2"),
    # audio
    "AudioDecoderCalculator": ('input_side_packet: "INPUT_FILE_PATH:p" output_stream: "AUDIO:a"',
                               "frame_size: -1", "frame_size must not be negative"),
    "AudioEncoderCalculator": ('input_stream: "AUDIO:a"', "",
                               "required input side packet OUTPUT_FILE_PATH"),
    "AudioInputCalculator": ('output_stream: "AUDIO:a"', "",
                             "required input side packet INPUT_FILE_PATH"),
    "AudioLevelCalculator": ('input_stream: "AUDIO:a"', "", "required output stream LEVEL"),
    "AudioToRenderDataCalculator": ('output_stream: "RENDER_DATA:r"', "",
                                    "needs a LEVEL or an AUDIO input"),
    "FramingCalculator": ('input_stream: "AUDIO:a" output_stream: "AUDIO:f"', "",
                          "frame_duration_seconds must be > 0"),
    "TimeSeriesFramerCalculator": ('input_stream: "a" output_stream: "f"',
                                   "frame_duration_seconds: 0.01 use_local_timestamp: true",
                                   "use_local_timestamp is not supported"),
    "MelSpectrogramCalculator": ('input_stream: "AUDIO:a" output_stream: "MEL:m"',
                                 "channel_count: 0", "channel_count must be >= 1"),
    "MicrophoneSourceCalculator": ('output_stream: "AUDIO:a"', "sample_rate: 0",
                                   "sample_rate, channels and frame_size must be positive"),
    "ResampleCalculator": ('input_stream: "AUDIO:a" output_stream: "AUDIO:r"', "",
                           "target_sample_rate must be > 0"),
    "SegmentsSinkCalculator": ('input_stream: "SEGMENTS:s" '
                               'input_side_packet: "OUTPUT_FILE_PATH:p"', 'format: "xml"',
                               "format 'xml' is not one of srt, jsonl, json"),
    "SileroVadCalculator": ('input_stream: "AUDIO:a"', "", "required output stream PROBABILITY"),
    "SpeakerSinkCalculator": ('input_stream: "AUDIO:a"', "channels: -1",
                              "sample_rate and channels must not be negative"),
    "SpectrogramCalculator": ('input_stream: "AUDIO:a" output_stream: "SPECTROGRAM:s"',
                              "frame_duration_seconds: 0.02 output_type: COMPLEX",
                              "output_type COMPLEX is not supported"),
    "SpeechSegmentsCalculator": ('input_stream: "PROBABILITY:p" output_stream: "SEGMENTS:s"',
                                 "threshold: 0.3 neg_threshold: 0.4",
                                 "need 0 < neg_threshold <= threshold < 1"),
    "StabilizedLogCalculator": ('input_stream: "m" output_stream: "l"', "stabilizer: -1",
                                "stabilizer must be >= 0"),
    # inference
    "InferenceCalculator": ('input_stream: "TENSORS:t" output_stream: "TENSORS:o"', "",
                            "no model: set model_path or the MODEL side packet"),
    "ResourceProviderCalculator": ('input_side_packet: "RESOURCE_ID:r"', "",
                                   "required output side packet RESOURCE"),
    "TfLiteCustomOpResolverCalculator": ('output_side_packet: "RESOLVER:r"', "",
                                         "has no output side packet RESOLVER"),
    "TfLiteModelCalculator": ('input_side_packet: "MODEL_RESOURCE:r"', "",
                              "required output side packet MODEL"),
    # io
    "LocalFileContentsCalculator": (
        'input_side_packet: "FILE_PATH:0:a" input_side_packet: "FILE_PATH:1:b" '
        'output_side_packet: "CONTENTS:0:x"', "", "2 FILE_PATH side inputs but 1 CONTENTS"),
    "CameraSourceCalculator": ('output_stream: "VIDEO:v"', "fps: -1",
                               "max_frames, width, height and fps must not be negative"),
    "DisplayCalculator": ("", "", "connect exactly one of VIDEO or IMAGE"),
    "ImageFileSinkCalculator": ('input_stream: "IMAGE:i"', 'pattern: "f_{n}.png"',
                                "bad file name pattern 'f_{n}.png'"),
    "ImageFileSourceCalculator": ('input_side_packet: "FILE_PATTERN:p" output_stream: "IMAGE:i"',
                                  "frame_interval_us: 0", "frame_interval_us must be positive"),
    "VideoDecoderCalculator": ('input_side_packet: "INPUT_FILE_PATH:p" output_stream: "VIDEO:v"',
                               'on_error: "IGNORE"', "on_error must be one of"),
    "VideoEncoderCalculator": ('input_stream: "VIDEO:v" input_side_packet: "OUTPUT_FILE_PATH:p"',
                               'codec_options: "tune"', "codec_options entry 'tune'"),
    # postprocess
    "AssociationNormRectCalculator": ('input_stream: "a" output_stream: "o"',
                                      "min_similarity_threshold: 2",
                                      "min_similarity_threshold must be in [0, 1]"),
    "AlignmentPointsRectsCalculator": ('input_stream: "DETECTION:d" input_stream: "IMAGE_SIZE:s" '
                                       'output_stream: "NORM_RECT:r"',
                                       "rotation_vector_start_keypoint_index: 0",
                                       "rotation_vector_end_keypoint_index are required"),
    "DetectionLetterboxRemovalCalculator": ('input_stream: "DETECTIONS:d" '
                                            'output_stream: "DETECTIONS:o"', "",
                                            "required input stream LETTERBOX_PADDING"),
    "DetectionProjectionCalculator": ('input_stream: "DETECTIONS:d" '
                                      'input_stream: "PROJECTION_MATRIX:m"', "",
                                      "1 DETECTIONS inputs but 0 outputs"),
    "DetectionsToRectsCalculator": ('input_stream: "DETECTION:d" input_stream: "DETECTIONS:ds" '
                                    'output_stream: "NORM_RECT:r"', "",
                                    "connect exactly one of DETECTION and DETECTIONS"),
    "HandDetectionsFromPoseToRectsCalculator": ('input_stream: "DETECTION:d" '
                                                'output_stream: "NORM_RECT:r"', "",
                                                "required input stream IMAGE_SIZE"),
    "HandLandmarksToRectCalculator": ('input_stream: "NORM_LANDMARKS:l" '
                                      'output_stream: "NORM_RECT:r"', "",
                                      "required input stream IMAGE_SIZE"),
    "InverseMatrixCalculator": ('input_stream: "MATRIX:m"', "",
                                "required output stream MATRIX"),
    "LandmarkLetterboxRemovalCalculator": ('input_stream: "LANDMARKS:l" '
                                           'input_stream: "LETTERBOX_PADDING:p"', "",
                                           "1 LANDMARKS inputs but 0 outputs"),
    "LandmarkVisibilityCalculator": ('input_stream: "NORM_LANDMARKS:l"', "",
                                     "required output stream VISIBILITY"),
    "LandmarkProjectionCalculator": ('input_stream: "NORM_LANDMARKS:l" '
                                     'output_stream: "NORM_LANDMARKS:o"', "",
                                     "connect exactly one of NORM_RECT and PROJECTION_MATRIX"),
    "LandmarksRefinementCalculator": (
        'input_stream: "LANDMARKS:0:a" input_stream: "LANDMARKS:1:b" '
        'output_stream: "REFINED_LANDMARKS:r"',
        "refinement { indexes_mapping: [0, 1] z_refinement { copy {} } }",
        "there are 1 refinements for 2 LANDMARKS streams"),
    "LandmarksSmoothingCalculator": ('input_stream: "NORM_LANDMARKS:l" '
                                     'output_stream: "NORM_FILTERED_LANDMARKS:f"', "no_filter {}",
                                     "NORM_LANDMARKS needs IMAGE_SIZE"),
    "SetLandmarkVisibilityCalculator": ('input_stream: "NORM_LANDMARKS:l" '
                                        'output_stream: "NORM_LANDMARKS:o"', "",
                                        "required input stream VISIBILITY"),
    "LandmarksToDetectionCalculator": ('input_stream: "NORM_LANDMARKS:l"', "",
                                       "required output stream DETECTION"),
    "UpdateFaceLandmarksCalculator": (
        'input_stream: "FACE_LANDMARKS:f" output_stream: "UPDATED_FACE_LANDMARKS:u"', "",
        "required input stream NEW_EYE_LANDMARKS"),
    "NonMaxSuppressionCalculator": ('input_stream: "d" output_stream: "o"',
                                    "num_detection_streams: 2",
                                    "1 detection streams connected but num_detection_streams "
                                    "is 2"),
    "RefineLandmarksFromHeatmapCalculator": ('input_stream: "NORM_LANDMARKS:l" '
                                             'input_stream: "TENSORS:t" '
                                             'output_stream: "NORM_LANDMARKS:o"',
                                             "kernel_size: 0", "kernel_size must be >= 1"),
    "RectTransformationCalculator": ('output_stream: "r"', "",
                                     "connect exactly one of NORM_RECT and NORM_RECTS"),
    "RoiTrackingCalculator": ('input_stream: "PREV_LANDMARKS:l" input_stream: '
                              '"PREV_LANDMARKS_RECT:r" input_stream: "RECROP_RECT:c" '
                              'output_stream: "TRACKING_RECT:t"', "",
                              "required input stream IMAGE_SIZE"),
    "SegmentationSmoothingCalculator": ('input_stream: "MASK:m" output_stream: "MASK_SMOOTHED:s"',
                                        "combine_with_previous_ratio: 2",
                                        "combine_with_previous_ratio must be in [0, 1]"),
    "SsdAnchorsCalculator": ('output_side_packet: "anchors"', "",
                             "both feature map shape and strides are missing"),
    "TensorsToClassificationCalculator": ('input_stream: "TENSORS:t" '
                                          'output_stream: "CLASSIFICATIONS:c"',
                                          "ignore_classes: 0 allow_classes: 1",
                                          "ignore_classes and allow_classes are mutually "
                                          "exclusive"),
    "TensorsToDetectionsCalculator": ('input_stream: "TENSORS:t" output_stream: "DETECTIONS:d"',
                                      "", "options num_classes and num_coords are required"),
    "TensorsToFloatsCalculator": ('input_stream: "TENSORS:t"', "", "connect FLOAT or FLOATS"),
    "TensorsToLandmarksCalculator": ('input_stream: "TENSORS:t" output_stream: "NORM_LANDMARKS:l"',
                                     "num_landmarks: 21",
                                     "NORM_LANDMARKS and flips need input_image_width"),
    "TensorsToSegmentationCalculator": ('input_stream: "TENSORS:t" output_stream: "MASK:m"',
                                        "activation: SOFTMAX output_layer_index: 2",
                                        "output_layer_index must be 0 or 1 with SOFTMAX"),
    "ThresholdingCalculator": ('input_stream: "FLOAT:f" input_stream: "THRESHOLD:t" '
                               'output_stream: "FLAG:o"', "threshold: 0.5",
                               "set the threshold once"),
    "VisibilityCopyCalculator": ('input_stream: "NORM_LANDMARKS_FROM:a" '
                                 'input_stream: "LANDMARKS_TO:b" '
                                 'output_stream: "NORM_LANDMARKS_TO:o"', "",
                                 "the output takes the TO input's tag"),
    "VisibilitySmoothingCalculator": ('input_stream: "NORM_LANDMARKS:l" '
                                      'output_stream: "FILTERED_LANDMARKS:f"', "no_filter {}",
                                      "NORM_LANDMARKS gives the output NORM_FILTERED_LANDMARKS"),
    "WarpAffineCalculator": ('input_stream: "IMAGE:i" input_stream: "MATRIX:m" '
                             'output_stream: "IMAGE:o"', "",
                             "required input stream OUTPUT_SIZE"),
    "WorldLandmarkProjectionCalculator": ('input_stream: "LANDMARKS:l"', "",
                                          "required output stream LANDMARKS"),
    # preprocess
    "ColorConvertCalculator": ('input_stream: "RGB_IN:a" input_stream: "GRAY_IN:b" '
                               'output_stream: "RGB_OUT:c"', "",
                               "ColorConvertCalculator needs exactly one input"),
    "EdgeDetectionCalculator": ('input_stream: "IMAGE:i" output_stream: "IMAGE:o"',
                                "aperture_size: 4", "aperture_size must be 3, 5 or 7"),
    "FromImageCalculator": ('input_stream: "IMAGE:i"', "", "required output stream IMAGE_CPU"),
    "ImageCroppingCalculator": ('input_stream: "IMAGE:i" output_stream: "IMAGE:o"', "",
                                "no crop given"),
    "ImagePropertiesCalculator": ('output_stream: "SIZE:s"', "",
                                  "connect exactly one of IMAGE and IMAGE_CPU"),
    "ImageToTensorCalculator": ('input_stream: "IMAGE:i" output_stream: "TENSORS:t"', "",
                                "set exactly one of output_tensor_float_range"),
    "ImageTransformationCalculator": ('input_stream: "IMAGE:i" output_stream: "IMAGE:o"',
                                      "output_width: 10", "set both"),
    "ToImageCalculator": ('output_stream: "IMAGE:o"', "",
                          "connect exactly one of IMAGE and IMAGE_CPU"),
    # render
    "AnnotationOverlayCalculator": ('input_stream: "r" output_stream: "IMAGE:o"',
                                    "canvas_width_px: 0",
                                    "canvas size must be positive without an IMAGE input"),
    "BackgroundBlurCalculator": ('input_stream: "IMAGE:i" input_stream: "MASK:m" '
                                 'output_stream: "IMAGE:o"', "blur_radius: -1",
                                 "blur_radius must be 0 or more"),
    "DetectionsToRenderDataCalculator": ('output_stream: "RENDER_DATA:r"', "",
                                         "connect DETECTION or DETECTIONS"),
    "LandmarksToRenderDataCalculator": ('input_stream: "NORM_LANDMARKS:l" '
                                        'output_stream: "RENDER_DATA:r"',
                                        "landmark_connections: [0, 1, 2]", "odd count"),
    "LiveStatsCalculator": ('input_stream: "IMAGE:i" output_stream: "IMAGE:o"',
                            "window_seconds: 0", "window_seconds must be positive, got 0"),
    "RecolorCalculator": ('input_stream: "IMAGE:i" input_stream: "MASK:m" '
                          'output_stream: "IMAGE:o"', "", "color is required"),
    "RectToRenderDataCalculator": ('output_stream: "RENDER_DATA:r"', "",
                                   "connect exactly one of NORM_RECT or NORM_RECTS"),
    "RectToRenderScaleCalculator": ('input_stream: "NORM_RECT:r" input_stream: "IMAGE_SIZE:s" '
                                    'output_stream: "RENDER_SCALE:o"', "multiplier: 0",
                                    "multiplier must be positive"),
}

_ALIAS_ATTRIBUTES = {"__doc__", "__module__", "ports", "registered_name"}


def _own_calculators() -> dict[str, type[mg.Calculator]]:
    """Every name mediagraph's calculator package registers, with its class."""
    found = {}
    for name in registry.calculator_names():
        cls = registry.find_calculator(name)
        if cls is not None and cls.__module__.startswith("mediagraph.calculators"):
            found[name] = cls
    return found


def _entry_name(cls: type[mg.Calculator]) -> str:
    """The table entry for `cls`: its own, or its generic class's for a typed name."""
    while cls.registered_name not in MISWIRINGS and set(vars(cls)) <= _ALIAS_ATTRIBUTES:
        cls = cls.__bases__[0]
    return cls.registered_name


def _config(name: str, ports: str, options: str, cls: type[mg.Calculator]) -> str:
    node_options = ""
    if options:
        node_options = (f"node_options {{ [type.googleapis.com/{cls.Options.proto_name}] "
                        f"{{ {options} }} }}")
    return f'# one miswired node\nnode {{\n  name: "probe"\n  calculator: "{name}"\n' \
           f"  {ports}\n  {node_options}\n}}\n"


def test_every_calculator_has_a_miswiring_entry():
    missing = sorted({_entry_name(cls) for cls in _own_calculators().values()} - set(MISWIRINGS))
    assert missing == [], f"add a miswiring entry to {__name__} for: {', '.join(missing)}"


def test_the_table_names_only_registered_calculators():
    assert sorted(set(MISWIRINGS) - set(_own_calculators())) == []


@pytest.mark.parametrize("name", sorted(_own_calculators()))
def test_a_miswired_node_fails_at_validation_naming_node_and_line(name: str):
    cls = _own_calculators()[name]
    ports, options, fragment = MISWIRINGS.get(_entry_name(cls), ("", "", "<no entry>"))
    with pytest.raises(mg.GraphConfigError) as caught:
        mg.Graph(_config(name, ports, options, cls))
    error = caught.value
    assert fragment in error.reason
    assert error.node == "probe" and "'probe'" in str(error)
    assert error.line == 2 and str(error).startswith("<string>:2: ")


def test_the_table_names_each_calculator_once():
    # A dict literal keeps the last of two equal keys silently: merges that both add an
    # entry would hide one of them.
    import ast
    import collections

    table = next(node.value for node in ast.parse(open(__file__).read()).body
                 if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MISWIRINGS")
    counts = collections.Counter(key.value for key in table.keys)
    assert [name for name, n in counts.items() if n > 1] == []
