"""mediagraph.testing.samples: generated test media decodes as described."""

from __future__ import annotations

import av
import numpy as np
import pytest

from mediagraph.testing import samples

pytestmark = pytest.mark.timeout(120)


def _frames(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _means(path):
    return [float(frame.mean()) for frame in _frames(path)]


def test_make_video_has_the_frames_size_rate_and_tone(tmp_path):
    path = samples.make_video(tmp_path / "clip.mp4", frames=20, width=160, height=120, fps=25)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 160, 120)
        assert video.average_rate == 25
        audio = container.streams.audio[0]
        assert (audio.codec_context.name, audio.rate) == ("aac", samples.AUDIO_RATE)
    means = _means(path)
    assert len(means) == 20
    assert np.all(np.diff(means) > 0), "frame brightness must grow with the frame index"


def test_make_video_without_audio_has_one_stream(tmp_path):
    path = samples.make_video(tmp_path / "clip.mkv", frames=5, audio=False)
    with av.open(str(path)) as container:
        assert [s.type for s in container.streams] == ["video"]
    assert len(_means(path)) == 5


def test_frames_show_motion():
    first = samples.video_frame(0, 10, 64, 48)
    last = samples.video_frame(9, 10, 64, 48)
    moved = np.argmax(last[24, :, 0] == 250) - np.argmax(first[24, :, 0] == 250)
    assert moved > 0


def test_make_images_writes_sorted_pngs(tmp_path):
    paths = samples.make_images(tmp_path / "imgs", 3, (32, 24))
    assert [p.name for p in paths] == ["image_000.png", "image_001.png", "image_002.png"]
    for path in paths:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            assert (frame.width, frame.height) == (32, 24)


def test_truncate_keeps_a_prefix(tmp_path):
    path = samples.make_video(tmp_path / "clip.mp4", frames=10)
    cut = samples.truncate(path, 0.5)
    assert cut != path and cut.exists()
    data, prefix = path.read_bytes(), cut.read_bytes()
    assert len(prefix) == len(data) // 2 and data.startswith(prefix)


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_truncate_rejects_fractions_outside_0_1(tmp_path, fraction):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    with pytest.raises(ValueError):
        samples.truncate(path, fraction)


def test_face_video_shows_the_portrait_whole(tmp_path):
    path = samples.make_face_video(tmp_path / "face.mp4", frames=6, width=320, height=240,
                                   audio=False)
    frames = _frames(path)
    assert len(frames) == 6
    photo = samples.photo()
    assert photo.shape == (512, 512, 3) and photo.std() > 40  # a real, detailed photograph
    for frame in frames:  # the portrait (bright, colorful) is inside the frame, not cut off
        columns = np.nonzero(frame.std(axis=(0, 2)) > 25)[0]
        assert columns.min() > 0 and columns.max() < frame.shape[1] - 1


def test_hand_video_keeps_the_hand_whole_and_moves_it(tmp_path):
    path = samples.make_hand_video(tmp_path / "hand.mp4", frames=6, width=320, height=240,
                                   audio=False)
    frames = _frames(path)
    assert len(frames) == 6
    photo = samples.photo("zidane")
    assert photo.shape == (720, 1280, 3) and photo.std() > 40  # a real, detailed photograph
    boxes = [samples.hand_box(i, 6, 320, 240) for i in range(6)]
    for frame, (x0, y0, x1, y1) in zip(frames, boxes):
        assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240
        hand = frame[int(y0):int(y1), int(x0):int(x1)]
        assert hand.std() > 25  # the photo, not the flat background
    assert boxes[0][0] - boxes[-1][0] > 30  # it drifts right to left


def test_cli_writes_a_hand_video(tmp_path, capsys):
    out = tmp_path / "hand.mp4"
    assert samples.main([str(out), "--hand", "--frames", "3", "--size", "160x120"]) == 0
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 3
    with pytest.raises(SystemExit):
        samples.main([str(tmp_path / "x.mp4"), "--hand", "--face"])


# -- a whole person and faces at several scales -----------------------------------------

@pytest.mark.parametrize("name", sorted(samples.PHOTOS))
def test_every_photo_is_the_pinned_file(name):
    from mediagraph.models import sha256_of

    assert set(samples.PHOTO_SHA256) == set(samples.PHOTOS)
    image = samples.photo(name)
    path = samples.Path.home() / ".cache" / "mediagraph" / "samples" / \
        samples.Path(samples.PHOTOS[name][1]).name
    if path.is_file():  # the default cache (MEDIAGRAPH_MODELS may point elsewhere)
        assert sha256_of(path) == samples.PHOTO_SHA256[name]
    assert image.std() > 40


def test_a_replaced_photo_fails_naming_both_digests(tmp_path, monkeypatch):
    from mediagraph.models import ENV_VAR

    monkeypatch.setenv(ENV_VAR, str(tmp_path / "models"))
    (tmp_path / "samples").mkdir()
    fake = tmp_path / "samples" / "bus.jpg"
    fake.write_bytes(b"not the bus photo")
    with pytest.raises(samples.SamplePhotoError) as info:
        samples.photo("bus")
    message = str(info.value)
    assert samples.PHOTO_SHA256["bus"] in message and str(fake) in message
    assert isinstance(info.value, ValueError)


def test_person_crop_holds_one_whole_body():
    bus = samples.photo("bus")
    assert bus.shape == (1080, 810, 3)
    top, left, bottom, right = samples.PERSON_CROP
    x0, y0, x1, y1 = samples.PERSON_BOX
    assert 0 < x0 < x1 < right - left and 0 < y0 < y1 < bottom - top
    crop = bus[top:bottom, left:right]
    assert (y1 - y0) / (x1 - x0) > 3  # standing: much taller than wide
    assert crop[y0:y1, x0:x1].std() > 40


def test_person_video_moves_the_whole_person_and_decodes_back(tmp_path):
    size = {"width": 320, "height": 240}
    path = samples.make_person_video(tmp_path / "person.mp4", frames=8, audio=False, **size)
    frames = _frames(path)
    assert len(frames) == 8 and frames[0].shape == (240, 320, 3)
    boxes = [samples.person_box(i, 8, **size) for i in range(8)]
    for frame, (x0, y0, x1, y1) in zip(frames, boxes):
        assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240  # whole inside the frame
        assert y1 - y0 > 0.6 * 240  # a large figure
        assert frame[int(y0):int(y1), int(x0):int(x1)].std() > 30  # the photo, not blank
        outside = np.concatenate([frame[:, :max(1, int(x0) - 40)].reshape(-1, 3),
                                  frame[:, min(319, int(x1) + 40):].reshape(-1, 3)])
        assert outside.std(axis=0).max() < 30  # the flat gradient around it
    assert boxes[-1][0] - boxes[0][0] > 60  # drifts left to right
    assert not np.allclose(frames[2], frames[3], atol=10)  # every frame moves


def test_person_frames_turn_and_zoom():
    middle = samples.person_box(2, 8, 640, 480)
    first = samples.person_box(0, 8, 640, 480)
    assert (middle[3] - middle[1]) > 1.05 * (first[3] - first[1])  # zooms in
    turned = samples._person_matrix(2, 8, 640, 480, 0.9)
    assert abs(turned[0, 1]) > 0.02  # rotated, not only scaled


def test_faces_video_has_faces_at_three_scales_and_moves(tmp_path):
    size = {"width": 320, "height": 240}
    boxes = samples.face_boxes(0, 6, **size)
    heights = [y1 - y0 for _, y0, _, y1 in boxes]
    assert len(boxes) == 4 and heights[0] > heights[1] > max(heights[2:])
    assert heights[0] > 2 * max(heights[2:])  # a close-up down to small faces
    path = samples.make_faces_video(tmp_path / "faces.mp4", frames=6, audio=False, **size)
    frames = _frames(path)
    assert len(frames) == 6
    for i, frame in enumerate(frames):
        for x0, y0, x1, y1 in samples.face_boxes(i, 6, **size):
            assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240
            assert frame[int(y0):int(y1), int(x0):int(x1)].std() > 15
    assert samples.face_boxes(5, 6, **size)[0][0] - boxes[0][0] > 5
    assert np.abs(frames[0].astype(int) - frames[3]).mean() > 5


@pytest.mark.parametrize("name", sorted(samples.STILLS))
def test_stills_are_real_pictures(name):
    image = samples.still(name)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    assert image.std() > 25
    with pytest.raises(KeyError):
        samples.still("nothing")


@pytest.mark.parametrize("flag", ["--person", "--faces"])
def test_cli_writes_person_and_faces_videos(tmp_path, flag):
    out = tmp_path / "clip.mp4"
    assert samples.main([str(out), flag, "--frames", "3", "--size", "160x120"]) == 0
    assert len(_frames(out)) == 3
    with pytest.raises(SystemExit):
        samples.main([str(tmp_path / "x.mp4"), "--person", "--faces"])
