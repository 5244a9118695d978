"""Small, real media files for tests and demos.

The worker must be exercised against genuine containers (not mocks of PyAV), so the test
suites build their inputs here. Frames are built from raw bytes so numpy is not needed,
and the content moves from frame to frame so that encoders, seeking and thumbnails behave
as they would on a real recording rather than on a still image.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream

from controller.worker import add_video_stream

AUDIO_RATE = 22050
"""Sample rate of the test tone; low because the tone only has to exist, not sound good."""

TONE_HZ = 440.0
"""Frequency of the test tone."""


def make_sample_video(
    path: Path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: int = 24,
    label: str = "",
    audio: bool = True,
) -> Path:
    """Write a short MP4 with a moving bar (and a tone when ``audio``) to ``path``.

    ``label`` is stored as the container title so files made with different labels differ
    in content (useful when a test needs distinct checksums).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = max(1, round(seconds * fps))
    with av.open(str(path), mode="w", format="mp4") as container:
        if label:
            container.metadata["title"] = label
        video = _add_video_stream(container, width, height, fps)
        tone = _add_audio_stream(container) if audio else None
        for index in range(frames):
            _encode_video_frame(container, video, index, frames)
        container.mux(video.encode(None))
        if tone is not None:
            _encode_tone(container, tone, frames / fps)
    return path


def make_not_a_video(path: Path) -> Path:
    """Write a text file with a video-looking name, the classic bad upload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("These are lecture notes, not a video.\nSee you next week.\n")
    return path


def _add_video_stream(
    container: OutputContainer, width: int, height: int, fps: int
) -> VideoStream:
    """Fast encoder settings: samples are made by the dozen in tests on small machines."""
    stream = add_video_stream(container, (width, height), fps)
    if stream.codec_context.name == "libx264":
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
    return stream


def _add_audio_stream(container: OutputContainer) -> AudioStream:
    stream = container.add_stream("aac", rate=AUDIO_RATE)
    stream.layout = "mono"
    return stream


def _encode_video_frame(
    container: OutputContainer, stream: VideoStream, index: int, total: int
) -> None:
    rgba = _bar_frame_bytes(stream.width, stream.height, index, total)
    frame = av.VideoFrame.from_bytes(rgba, stream.width, stream.height, format="rgba")
    frame = frame.reformat(format="yuv420p")
    frame.pts = index
    frame.time_base = Fraction(1, int(stream.codec_context.framerate or 24))
    container.mux(stream.encode(frame))


def _bar_frame_bytes(width: int, height: int, index: int, total: int) -> bytes:
    """A horizontal gradient with a white bar that sweeps left to right over the clip.

    Only one row is computed; every row is identical, which keeps this cheap in pure Python.
    """
    bar_x = (index * width) // max(1, total)
    bar_w = max(2, width // 16)
    row = bytearray()
    for x in range(width):
        if bar_x <= x < bar_x + bar_w:
            row += b"\xff\xff\xff\xff"
        else:
            shade = (x * 255) // max(1, width - 1)
            row += bytes((shade, (index * 5) % 256, 255 - shade, 255))
    return bytes(row) * height


def _encode_tone(container: OutputContainer, stream: AudioStream, seconds: float) -> None:
    """Encode a sine tone in 1024-sample chunks (the AAC frame size)."""
    chunk = 1024
    total = int(seconds * AUDIO_RATE)
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        frame.planes[0].update(_tone_bytes(start, count))
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _tone_bytes(start: int, count: int) -> bytes:
    step = 2 * math.pi * TONE_HZ / AUDIO_RATE
    samples = (int(8000 * math.sin(step * (start + i))) for i in range(count))
    return struct.pack(f"<{count}h", *samples)
