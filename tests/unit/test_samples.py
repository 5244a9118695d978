"""The sample files are the inputs of every media test, so they must be genuine."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest

from controller.samples import make_not_a_video, make_sample_video


def test_sample_video_has_requested_shape_length_and_streams(tmp_path: Path) -> None:
    path = make_sample_video(tmp_path / "clip.mp4", seconds=1.5, width=160, height=96, fps=20)

    with av.open(str(path)) as container:
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(1.5, rel=0.1)
        kinds = sorted(s.type for s in container.streams)
        frames = list(container.decode(video=0))
    assert kinds == ["audio", "video"]
    assert len(frames) == 30
    assert (frames[0].width, frames[0].height) == (160, 96)


def test_sample_video_content_moves(tmp_path: Path) -> None:
    path = make_sample_video(tmp_path / "clip.mp4", seconds=1.0, audio=False)

    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    first, last = (bytes(f.reformat(format="gray").planes[0]) for f in (frames[0], frames[-1]))
    assert first != last


def test_labels_make_different_files(tmp_path: Path) -> None:
    a = make_sample_video(tmp_path / "a.mp4", seconds=0.5, label="a")
    b = make_sample_video(tmp_path / "b.mp4", seconds=0.5, label="b")

    assert hashlib.sha256(a.read_bytes()).digest() != hashlib.sha256(b.read_bytes()).digest()


def test_not_a_video_is_rejected_by_pyav(tmp_path: Path) -> None:
    path = make_not_a_video(tmp_path / "notes.mp4")

    assert path.suffix == ".mp4"
    with pytest.raises(av.FFmpegError):
        av.open(str(path)).close()
