"""Shared helpers of the landmark and rect calculators: angles, landmark arrays, image sizes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from mediagraph.formats import LandmarkList, NormalizedLandmarkList


def normalize_radians(angle: float) -> float:
    """`angle` wrapped into [-pi, pi), as MediaPipe's NormalizeRadians."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def image_size(value: Any, node_needs: str) -> tuple[int, int]:
    """A (width, height) pair from an IMAGE_SIZE packet; raises naming what needed it."""
    if value is None:
        raise ValueError(f"{node_needs} needs an IMAGE_SIZE packet at this timestamp")
    width, height = value
    return int(width), int(height)


def landmark_arrays(landmarks: NormalizedLandmarkList | LandmarkList
                    ) -> tuple[np.ndarray, list, list]:
    """(Nx3 float64 x/y/z; visibilities; presences) of a landmark list: copies the
    caller may change."""
    xyz, visibility, presence = landmarks.arrays()
    return xyz.copy(), list(visibility), list(presence)


def landmark_list(xyz: np.ndarray, visibility: Iterable[float | None] | None = None,
                  presence: Iterable[float | None] | None = None, *, world: bool = False
                  ) -> NormalizedLandmarkList | LandmarkList:
    """A landmark list from Nx3 coordinates and optional per-landmark visibility/presence:
    a NormalizedLandmarkList, or with `world` a LandmarkList (metres)."""
    kind = LandmarkList if world else NormalizedLandmarkList
    return kind.from_arrays(xyz, visibility, presence)


def check_landmark_ports(node: Any, calculator: type, name: str) -> bool:
    """The one rule of MediaPipe's landmark filters' ports: NORM_LANDMARKS in gives
    NORM_FILTERED_LANDMARKS out, LANDMARKS gives FILTERED_LANDMARKS, exactly one pair.
    True when the pair is the normalized one."""
    normalized = node.connected(calculator.norm_landmarks)
    if normalized == node.connected(calculator.landmarks):
        raise ValueError(f"{name} takes one of NORM_LANDMARKS or LANDMARKS")
    wanted, unwanted = ((calculator.norm_filtered, calculator.filtered) if normalized
                        else (calculator.filtered, calculator.norm_filtered))
    if not node.connected(wanted) or node.connected(unwanted):
        raise ValueError("NORM_LANDMARKS gives the output NORM_FILTERED_LANDMARKS (not "
                         "FILTERED_LANDMARKS)" if normalized else
                         "LANDMARKS gives the output FILTERED_LANDMARKS (not "
                         "NORM_FILTERED_LANDMARKS)")
    return normalized
