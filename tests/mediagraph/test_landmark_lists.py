"""Landmark lists: the same values whether built from objects or from arrays."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagraph.formats import (
    Color,
    Landmark,
    LandmarkList,
    NormalizedLandmark,
    NormalizedLandmarkList,
    RenderAnnotation,
)

_value = st.floats(-10, 10, allow_nan=False, width=32)
_optional = st.one_of(st.none(), st.floats(0, 1, width=32))
_point = st.tuples(_value, _value, _value, _optional, _optional)


@given(st.lists(_point, max_size=12))
def test_arrays_and_objects_are_one_list(rows):
    objects = NormalizedLandmarkList(NormalizedLandmark(*row) for row in rows)
    xyz = np.array([row[:3] for row in rows], np.float64).reshape(-1, 3)
    arrays = NormalizedLandmarkList.from_arrays(xyz, [r[3] for r in rows], [r[4] for r in rows])
    assert arrays == objects and hash(arrays) == hash(objects)
    assert arrays.landmark == objects.landmark
    got_xyz, visibility, presence = objects.arrays()
    np.testing.assert_array_equal(got_xyz, xyz)
    assert visibility == [r[3] for r in rows] and presence == [r[4] for r in rows]
    assert len(arrays) == len(objects) == len(rows)
    assert pickle.loads(pickle.dumps(arrays)) == objects


def test_a_list_is_immutable_and_its_arrays_are_read_only():
    landmarks = NormalizedLandmarkList.from_arrays(np.zeros((2, 3)))
    with pytest.raises(AttributeError, match="immutable"):
        landmarks.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="read-only"):
        landmarks.arrays()[0][0, 0] = 1.0


def test_a_list_holds_only_its_own_landmark_type():
    with pytest.raises(TypeError, match="NormalizedLandmark values, got Landmark"):
        NormalizedLandmarkList([Landmark(0.0, 0.0)])


def test_a_count_mismatch_names_the_field():
    with pytest.raises(ValueError, match="2 landmarks need 2 visibility values, got 1"):
        LandmarkList.from_arrays(np.zeros((2, 3)), visibility=[0.5])


def test_subset_item_and_concatenate_keep_every_field():
    a = NormalizedLandmarkList.from_arrays([[0, 1, 2], [3, 4, 5]], [0.1, None], [None, 0.9])
    b = NormalizedLandmarkList([NormalizedLandmark(6, 7, 8, 0.3, 0.4)])
    joined = NormalizedLandmarkList.concatenate([a, b])
    assert joined.landmark == a.landmark + b.landmark
    assert joined.subset([2, 0]).landmark == (b.landmark[0], a.landmark[0])
    assert joined.item(1) == NormalizedLandmark(3.0, 4.0, 5.0, None, 0.9)
    assert b.subset([0]) == b


def test_lists_of_the_two_kinds_differ():
    assert NormalizedLandmarkList.from_arrays(np.zeros((1, 3))) != \
        LandmarkList.from_arrays(np.zeros((1, 3)))


def test_many_annotations_equal_one_at_a_time():
    made = RenderAnnotation.many("point", [(0.25, 0.5), (0.75, 0.5)], Color(1, 2, 3), [2.0, 3])
    assert made == [RenderAnnotation("point", (0.25, 0.5), color=Color(1, 2, 3), thickness=2.0),
                    RenderAnnotation("point", (0.75, 0.5), color=Color(1, 2, 3), thickness=3.0)]
    with pytest.raises(AttributeError):
        made[0].kind = "line"  # type: ignore[misc]


def test_many_keypoints_equal_one_at_a_time():
    from mediagraph.formats import RelativeKeypoint

    made = RelativeKeypoint.many([(0.25, 0.5), (0.75, 1.0)])
    assert made == (RelativeKeypoint(0.25, 0.5), RelativeKeypoint(0.75, 1.0))
    assert hash(made[0]) == hash(RelativeKeypoint(0.25, 0.5))


def test_keypoints_held_as_an_array_are_the_tuple_they_stand_for():
    import dataclasses

    from mediagraph.formats import Detection, Keypoints, RelativeKeypoint, keypoint_array

    xy = [(0.25, 0.5), (0.75, 1.0), (0.5, 0.125)]
    lazy, plain = Keypoints(xy), tuple(RelativeKeypoint(x, y) for x, y in xy)
    assert lazy[1] == plain[1] and lazy[-1] == plain[-1] and lazy[:2] == plain[:2]
    assert lazy == plain and plain == lazy and hash(lazy) == hash(plain)
    assert list(lazy) == list(plain) and len(lazy) == 3 and Keypoints([]) == ()
    a = Detection(relative_keypoints=lazy)
    assert a == Detection(relative_keypoints=plain) and hash(a) == hash(
        Detection(relative_keypoints=plain))
    assert dataclasses.replace(a, score=(0.5,)).relative_keypoints == plain
    np.testing.assert_array_equal(keypoint_array(lazy), keypoint_array(plain))
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(ValueError, match="read-only"):
        lazy.xy()[0, 0] = 1.0


def test_an_annotation_run_names_what_is_wrong():
    from mediagraph.formats import AnnotationRun

    with pytest.raises(ValueError, match="an annotation run is of lines or points, not 'oval'"):
        AnnotationRun("oval", np.zeros((1, 4)), Color())
    with pytest.raises(ValueError, match="3 points need 3 thickness values, got 2"):
        AnnotationRun("point", np.zeros((3, 2)), Color(), (1.0, 2.0))
