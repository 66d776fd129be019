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
