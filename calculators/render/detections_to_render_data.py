"""DetectionsToRenderDataCalculator: boxes, labels and keypoints of detections to draw."""

from __future__ import annotations

from typing import Any

from mediagraph.calculators.render._color import ColorOption, TextOption
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, at_least_one, option
from mediagraph.formats import Detection, RenderAnnotation, RenderData, keypoint_array

_DEFAULT_FONT_HEIGHT = RenderAnnotation("text").font_height


class DetectionsToRenderDataCalculatorOptions(
        Options, proto_name="mediapipe.DetectionsToRenderDataCalculatorOptions",
        extension=248360806):
    """MediaPipe's `detections_to_render_data_calculator.proto` (numbers and defaults)."""

    produce_empty_packet: bool = option(1, default=True,
                                        doc="send empty RenderData when there are no detections")
    text_delimiter: str = option(2, default=",", doc="between label and score")
    one_label_per_line: bool = option(3, default=False)
    text: TextOption = option(4, default=TextOption(), doc="label text settings")
    thickness: float = option(5, default=1.0, proto="double")
    color: ColorOption = option(6, default=ColorOption())
    scene_class: str = option(7, default="DETECTION")
    render_detection_id: bool = option(8, default=False)


class DetectionsToRenderDataCalculator(Calculator):
    """Turn detections into render annotations: a box, label lines and keypoints each.

    Each detection with a relative bounding box gives a rectangle; its labels (or label
    ids) with scores rounded to 3 digits give text lines inside the box's top-left
    corner ("face,0.9"; all on one line joined by the delimiter unless
    `one_label_per_line`); `render_detection_id` puts "Id: N" first; relative keypoints
    give points. Everything is normalized, in `color` and `thickness` (pixels).
    The label font height is `text.font_height` when `text.normalized` is set (a
    fraction of the image height), else 0.03 of the image height.

    Inputs:  DETECTION (Detection, optional); DETECTIONS (list of Detection, optional);
             at least one connected
    Outputs: RENDER_DATA (RenderData, scene_class from the options)
    Options: DetectionsToRenderDataCalculatorOptions (ext 248360806): produce_empty_packet,
             text_delimiter, one_label_per_line, text, thickness, color {r g b},
             scene_class, render_detection_id

    Example config:
        node {
          calculator: "DetectionsToRenderDataCalculator"
          input_stream: "DETECTIONS:detections"
          output_stream: "RENDER_DATA:render_data"
          options { [mediapipe.DetectionsToRenderDataCalculatorOptions.ext] {
            thickness: 4.0 color { r: 255 g: 0 b: 0 } } }
        }
    """

    Options = DetectionsToRenderDataCalculatorOptions

    detection = Input(Detection, tag="DETECTION", optional=True)
    detections = Input(list | tuple, tag="DETECTIONS", optional=True)
    render_data = Output(RenderData, tag="RENDER_DATA")
    groups = (at_least_one(detection, detections,
                           message="connect DETECTION or DETECTIONS (or both)"),)

    def open(self, cc: CalculatorContext) -> None:
        opts: DetectionsToRenderDataCalculatorOptions = self.options
        self._color = opts.color.to_color()
        self._font_height = (opts.text.font_height if opts.text.normalized
                             else _DEFAULT_FONT_HEIGHT)

    def process(self, cc: CalculatorContext) -> None:
        single = cc.get(self.detection)
        many = cc.get(self.detections)
        if single is None and many is None:
            return
        found: list[Any] = []
        if single is not None:
            found.append(single)
        if many is not None:
            if not isinstance(many, (list, tuple)):
                raise TypeError(f"input DETECTIONS needs a list of Detection, got "
                                f"{type(many).__name__}")
            found.extend(many)
        opts: DetectionsToRenderDataCalculatorOptions = self.options
        if not found and not opts.produce_empty_packet:
            return
        annotations: list[RenderAnnotation] = []
        for index, detection in enumerate(found):
            if not isinstance(detection, Detection):
                raise TypeError(f"detection {index} is a {type(detection).__name__}, "
                                "not a Detection")
            annotations.extend(self._annotate(detection))
        cc.send(self.render_data, RenderData(tuple(annotations), scene_class=opts.scene_class))

    def _annotate(self, detection: Detection) -> list[RenderAnnotation]:
        opts: DetectionsToRenderDataCalculatorOptions = self.options
        color, thickness = self._color, opts.thickness
        out: list[RenderAnnotation] = []
        box = detection.relative_bounding_box
        if box is not None:
            out.append(RenderAnnotation("rectangle", (box.xmin, box.ymin, box.xmin + box.width,
                                                      box.ymin + box.height),
                                        color=color, thickness=thickness))
            for line, text in enumerate(self._label_lines(detection)):
                out.append(RenderAnnotation(
                    "text", (box.xmin, box.ymin + (line + 1) * self._font_height), color=color,
                    thickness=thickness, text=text, font_height=self._font_height))
        if detection.relative_keypoints:
            out.extend(RenderAnnotation.many(
                "point", keypoint_array(detection.relative_keypoints).tolist(), color=color,
                thickness=thickness))
        return out

    def _label_lines(self, detection: Detection) -> list[str]:
        opts: DetectionsToRenderDataCalculatorOptions = self.options
        names = [str(n) for n in (detection.label or detection.label_id)]
        parts = []
        for i, name in enumerate(names):
            if i < len(detection.score):
                parts.append(f"{name}{opts.text_delimiter}{round(detection.score[i], 3):g}")
            else:
                parts.append(name)
        lines = parts if opts.one_label_per_line else (
            [opts.text_delimiter.join(parts)] if parts else [])
        if opts.render_detection_id and detection.detection_id is not None:
            lines.insert(0, f"Id: {detection.detection_id}")
        return lines
