"""The ``course-worker``: turns one uploaded module video into a rendition and a thumbnail.

It runs as the only container of a module pod (DESIGN.md section 5). The controller learns
what happened from two places only, so the worker keeps both reliable:

* progress, as the pod annotation ``learning.dev/progress`` (a best-effort side channel: a
  failing patch never fails the job), and
* the result, as compact JSON in the termination message (at most 4096 bytes, which is all
  the kubelet keeps), either the probe and output paths or
  ``{"error": "<one line>", "retryable": <bool>}``.

``retryable`` is false only for a failure that the same input is certain to repeat: the
source is missing, empty, not a file, not a video, too large, of an unsupported scheme, or
refused by its server with a client error (HTTP 4xx other than 408, 425 and 429). The
controller then gives the module up at once instead of spending its remaining attempts.
Everything else (download timeouts, connection errors, HTTP 5xx and 429, a truncated
download, I/O errors such as a full disk, SIGTERM, a bug in the worker) is retryable, and so
is anything the worker did not classify: a wrong "retry" costs an attempt, a wrong "never
retry" fails a module that the next attempt would have processed. Each failure's class is
fixed where it is raised (``BadSource`` versus any other ``WorkerError``), never guessed
from its text later.

Exit status: 0 success; 1 the source is bad (``retryable`` false); 75 a retryable failure
(``EX_TEMPFAIL``); 2 a usage error (click's convention); 143 SIGTERM (retryable). The
controller decides from the termination message, not the exit status, so a pod whose
message is missing or unreadable is retried.
Decoding and encoding stream frame by frame, so memory stays small whatever the input size.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, NoReturn, Protocol

import av
import click
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

PROGRESS_ANNOTATION = "learning.dev/progress"
"""Pod annotation the controller reads progress from (DESIGN.md section 5)."""

DEFAULT_TERMINATION_PATH = Path("/dev/termination-log")
"""Kubernetes' default ``terminationMessagePath``; overridden by TERMINATION_MESSAGE_PATH."""

TERMINATION_LIMIT = 4096
"""The kubelet truncates termination messages beyond this many bytes, breaking the JSON."""

DOWNLOAD_TIMEOUT_S = 30.0
"""Socket timeout for HTTP sources: a stalled server must not hold the pod until its deadline."""

DOWNLOAD_CAP_BYTES = 8 * 1024**3
"""Largest HTTP source accepted; the download lands on the output volume, which is finite."""

PATCH_INTERVAL_S = 0.5
"""At most one progress patch per this many seconds, to be gentle with the API server."""

PATCH_TIMEOUT_S = 5.0
"""A slow API server may delay a progress patch by at most this long."""

PROBE_DONE, TRANSCODE_DONE = 5.0, 95.0
"""Progress milestones: probing is cheap, the transcode is nearly all of the work."""

EXIT_BAD_SOURCE, EXIT_RETRYABLE, EXIT_TERMINATED = 1, 75, 143
"""Exit statuses of a failed run (see the module docstring); 75 is sysexits' EX_TEMPFAIL."""

RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})
"""HTTP 4xx statuses that ask the client to come back later; every other 4xx is permanent."""

AAC_RATES = frozenset({8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000})
"""Sample rates kept as they are; anything else is resampled to 48 kHz for AAC."""


class WorkerError(Exception):
    """A failed attempt; ``str()`` is the one-line reason users see.

    The class says whether another attempt may succeed: retryable unless a subclass knows
    better, because a failure nobody classified must not cost the user their module.
    """

    retryable: ClassVar[bool] = True


class BadSource(WorkerError):
    """The source itself is bad: the same input would fail the same way on every attempt."""

    retryable = False


class SourceUnavailable(WorkerError):
    """The source could not be fetched this time (network, server overload): retry."""


class Terminated(BaseException):
    """Raised from the SIGTERM handler; a BaseException so no ``except Exception`` eats it."""


def log(event: str, **fields: object) -> None:
    """One structured ``key=value`` line on stderr; the pod name ties it to the job."""
    pod = os.environ.get("POD_NAME")
    parts = [f"event={event}", *(f"{k}={v}" for k, v in fields.items())]
    if pod:
        parts.append(f"pod={pod}")
    print(" ".join(parts), file=sys.stderr, flush=True)


def one_line(text: str, limit: int = 1000) -> str:
    """Collapse whitespace so a reason fits the one-line contract of the error JSON."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --------------------------------------------------------------------------- progress


class ProgressSink(Protocol):
    """Where progress percentages go; tests inject a list-backed fake."""

    def send(self, percent: int) -> None: ...


class StderrSink:
    """Progress for runs outside a pod: a log line per reported value."""

    def send(self, percent: int) -> None:
        log("progress", percent=percent)


class PodAnnotationSink:
    """Patches this pod's progress annotation; failures are logged once and swallowed.

    The API client is made on first use so a worker that never reports (or runs without
    a cluster) pays nothing, and ``api_factory`` lets tests supply a recording fake.
    """

    def __init__(
        self, name: str, namespace: str, api_factory: Callable[[], Any] | None = None
    ) -> None:
        self.name, self.namespace = name, namespace
        self._factory = api_factory or core_v1_api
        self._api: Any = None
        self.failed = False

    def send(self, percent: int) -> None:
        body = {"metadata": {"annotations": {PROGRESS_ANNOTATION: str(percent)}}}
        try:
            if self._api is None:
                self._api = self._factory()
            self._api.patch_namespaced_pod(
                self.name, self.namespace, body,
                _content_type="application/merge-patch+json",
                _request_timeout=PATCH_TIMEOUT_S,
            )
        except Exception as exc:  # progress is best effort: never fail the job over it
            if not self.failed:
                log("progress_patch_failed", reason=repr(one_line(str(exc), 300)))
            self.failed = True


def core_v1_api() -> Any:
    """In-cluster credentials inside a pod, else the kubeconfig (KUBECONFIG honoured).

    KUBECONFIG is passed explicitly because the client reads it only once, at import.
    """
    from kubernetes import client
    from kubernetes import config as untyped_config

    config: Any = untyped_config  # its loaders are untyped
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
    else:
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    return client.CoreV1Api()


def sink_from_env() -> ProgressSink:
    """The pod annotation when the downward API gave us our identity, else stderr."""
    name, namespace = os.environ.get("POD_NAME"), os.environ.get("POD_NAMESPACE")
    if name and namespace:
        return PodAnnotationSink(name, namespace)
    return StderrSink()


@dataclass
class ProgressReporter:
    """Turns a stream of fractional percentages into few, monotonic integer reports.

    A value is sent only when its integer changed and ``min_interval`` passed since the
    last send; the newest skipped value is kept and sent by ``flush()``, so the final
    value always arrives. The clock is injected so tests need not sleep.
    """

    sink: ProgressSink
    clock: Callable[[], float] = time.monotonic
    min_interval: float = PATCH_INTERVAL_S
    sent: int = -1
    pending: int = -1
    _last_send: float | None = field(default=None, repr=False)

    def report(self, percent: float) -> None:
        value = int(max(0.0, min(100.0, percent)))
        self.pending = max(self.pending, value)
        if self.pending <= self.sent:
            return
        now = self.clock()
        if self._last_send is None or now - self._last_send >= self.min_interval:
            self._send(now)

    def flush(self) -> None:
        if self.pending > self.sent:
            self._send(self.clock())

    def _send(self, now: float) -> None:
        self.sink.send(self.pending)
        self.sent, self._last_send = self.pending, now


# --------------------------------------------------------------------------- source


@contextmanager
def local_source(uri: str, workdir: Path, cap: int = DOWNLOAD_CAP_BYTES) -> Iterator[Path]:
    """Yield a local path for ``uri``; an HTTP download is removed afterwards."""
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme in ("http", "https"):
        target = workdir / ".source.download"
        try:
            yield download(uri, target, cap)
        finally:
            target.unlink(missing_ok=True)
    elif scheme in ("", "file"):
        yield existing_file(uri)
    else:
        raise BadSource(f"unsupported source scheme {scheme!r}: {uri}")


def existing_file(uri: str) -> Path:
    """Resolve a ``file://`` URI or plain path, failing early with a clear reason."""
    parts = urllib.parse.urlsplit(uri)
    path = Path(urllib.request.url2pathname(parts.path) if parts.scheme else uri)
    if not path.exists():
        raise BadSource(f"source not found: {path}")
    if not path.is_file():
        raise BadSource(f"source is not a file: {path}")
    if path.stat().st_size == 0:
        raise BadSource(f"source is empty: {path}")
    return path


def download(url: str, target: Path, cap: int) -> Path:
    """Stream ``url`` to ``target`` in chunks, refusing bodies larger than ``cap``.

    A body shorter than its Content-Length is a dropped connection, not a bad file: it is
    reported as retryable here, before a probe could call the truncated file "not a video".
    """
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > cap:
                raise BadSource(f"source is larger than {cap} bytes: {url}")
            written = copy_capped(response, target, cap, url)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response socket
        raise http_failure(exc.code, str(exc.reason), url) from exc
    except urllib.error.URLError as exc:
        raise SourceUnavailable(f"source download failed: {exc.reason}: {url}") from exc
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise SourceUnavailable(
            f"source download failed: {type(exc).__name__}: {exc}: {url}") from exc
    if written < declared:
        raise SourceUnavailable(f"source download cut short: {written} of {declared} bytes: {url}")
    if written == 0:
        raise BadSource(f"source is empty: {url}")
    return target


def http_failure(code: int, reason: str, url: str) -> WorkerError:
    """A client error (the URL is wrong, gone or forbidden) is permanent, save the statuses
    that ask to come back later; a server error is the server's passing trouble."""
    message = f"source download failed: HTTP {code} {reason}: {url}"
    if 400 <= code < 500 and code not in RETRYABLE_CLIENT_ERRORS:
        return BadSource(message)
    return SourceUnavailable(message)


def copy_capped(response: Any, target: Path, cap: int, url: str) -> int:
    """Copy in 1 MiB chunks and return the bytes written; the cap also guards servers that
    lie about Content-Length."""
    written = 0
    with target.open("wb") as out:
        while chunk := response.read(1024 * 1024):
            written += len(chunk)
            if written > cap:
                raise BadSource(f"source is larger than {cap} bytes: {url}")
            out.write(chunk)
    return written


# --------------------------------------------------------------------------- probe


@dataclass(frozen=True)
class Probe:
    """What the controller shows about a source, plus the first video stream's size."""

    duration: float
    format: str
    streams: list[dict[str, Any]]
    size: int
    width: int
    height: int


def probe(path: Path, label: str) -> Probe:
    """Read container metadata; ``label`` (the URI as given) names the source in errors."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadSource(f"source has no video stream: {label}")
            video = container.streams.video[0]
            return Probe(
                duration=container_duration(container),
                format=container.format.name,
                streams=[describe_stream(s) for s in container.streams],
                size=path.stat().st_size,
                width=video.codec_context.width,
                height=video.codec_context.height,
            )
    except av.FFmpegError as exc:
        raise unreadable(label, exc) from exc


def unreadable(label: str, exc: av.FFmpegError) -> WorkerError:
    """Blame the source only for errors about its content; PyAV's errno-based errors (a
    failing disk, no memory, a vanished file) are the environment's, and worth a retry."""
    reason = one_line(exc.strerror or str(exc), 300)
    if isinstance(exc, (OSError, MemoryError)):
        return WorkerError(f"media I/O failed on {label} ({reason})")
    return BadSource(f"source is not a readable video: {label} ({reason})")


def container_duration(container: InputContainer) -> float:
    """Container duration, else the video stream's, else 0 (unknown, e.g. a raw stream)."""
    if container.duration is not None:
        return container.duration / av.time_base
    video = container.streams.video[0]
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    return 0.0


def describe_stream(stream: Any) -> dict[str, Any]:
    """A small JSON-able summary; keys are camelCase like the rest of the Course status."""
    info: dict[str, Any] = {"index": stream.index, "type": stream.type}
    info["codec"] = stream.codec_context.name if stream.codec_context else None
    if isinstance(stream, VideoStream):
        rate = stream.average_rate
        info.update(width=stream.codec_context.width, height=stream.codec_context.height)
        info["fps"] = round(float(rate), 3) if rate else None
    elif isinstance(stream, AudioStream):
        info.update(sampleRate=stream.codec_context.sample_rate,
                    channels=stream.codec_context.channels)
    return info


# --------------------------------------------------------------------------- transcode


def preferred_video_codec() -> str:
    """H.264 when this FFmpeg build has libx264, else MPEG-4 part 2, which every build has."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def rendition_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    """Scale to ``target_height`` keeping aspect ratio; both sides even, as yuv420p needs."""
    out_h = max(2, target_height - target_height % 2)
    out_w = max(2, round(width * out_h / max(1, height) / 2) * 2)
    return out_w, out_h


def add_video_stream(
    container: OutputContainer, size: tuple[int, int], rate: Fraction | int
) -> VideoStream:
    """Fast settings: renditions are previews, and pods run with modest CPU limits."""
    stream = container.add_stream(preferred_video_codec(), rate=rate)
    if not isinstance(stream, VideoStream):
        raise TypeError(f"{stream.codec_context.name} is not a video encoder")
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    if stream.codec_context.name == "libx264":
        stream.options = {"preset": "veryfast", "crf": "28"}
    else:
        stream.bit_rate = 400_000
    return stream


def add_audio_stream(container: OutputContainer, source: AudioStream) -> AudioStream:
    rate = source.codec_context.sample_rate
    stream = container.add_stream("aac", rate=rate if rate in AAC_RATES else 48000)
    stream.layout = "mono" if source.codec_context.channels == 1 else "stereo"
    return stream


@dataclass
class Transcode:
    """One rendition job: the open containers, stream pairs and where to stop."""

    source: InputContainer
    output: OutputContainer
    video_in: VideoStream
    video_out: VideoStream
    audio_in: AudioStream | None
    audio_out: AudioStream | None
    limit: float

    def run(self, on_progress: Callable[[float], None]) -> None:
        """Demux both streams together so the output stays interleaved; stop at ``limit``."""
        streams = [s for s in (self.video_in, self.audio_in) if s is not None]
        for packet in self.source.demux(streams):
            for frame in packet.decode():
                if isinstance(frame, VideoFrame):
                    if not self._video(frame):
                        return
                    on_progress((frame.time or 0.0) / self.limit)
                elif isinstance(frame, AudioFrame):
                    self._audio(frame)

    def _video(self, frame: VideoFrame) -> bool:
        """Encode one frame; False once past the limit, which ends the transcode."""
        if (frame.time or 0.0) > self.limit:
            return False
        scaled = frame.reformat(self.video_out.width, self.video_out.height, "yuv420p")
        self.output.mux(self.video_out.encode(scaled))
        return True

    def _audio(self, frame: AudioFrame) -> None:
        if self.audio_out is not None and (frame.time or 0.0) <= self.limit:
            self.output.mux(self.audio_out.encode(frame))

    def flush(self) -> None:
        self.output.mux(self.video_out.encode(None))
        if self.audio_out is not None:
            self.output.mux(self.audio_out.encode(None))


def transcode(
    src: Path,
    dst: Path,
    size: tuple[int, int],
    limit: float,
    on_progress: Callable[[float], None],
) -> None:
    """Write the rendition; ``on_progress`` gets the fraction of ``limit`` seconds done."""
    with av.open(str(src)) as source, av.open(str(dst), mode="w", format="mp4") as output:
        video_in = source.streams.video[0]
        video_in.thread_type = "AUTO"
        audio_in = source.streams.audio[0] if source.streams.audio else None
        job = Transcode(
            source, output, video_in,
            add_video_stream(output, size, video_in.average_rate or 24),
            audio_in, add_audio_stream(output, audio_in) if audio_in else None,
            limit,
        )
        if video_in.time_base is not None:
            job.video_out.codec_context.time_base = video_in.time_base
        job.run(on_progress)
        job.flush()


# --------------------------------------------------------------------------- thumbnail


def write_thumbnail(src: Path, dst: Path, at: float, size: tuple[int, int]) -> None:
    """Save the first frame at or after ``at`` seconds (the last one if the clip is shorter).

    Seeking lands on the keyframe before ``at``; when the container cannot seek, decoding
    from the start gives the same frame, only slower.
    """
    with av.open(str(src)) as container:
        frame = frame_near(container, at, seek=True)
    if frame is None:
        with av.open(str(src)) as container:
            frame = frame_near(container, at, seek=False)
    if frame is None:
        raise BadSource(f"no decodable video frame for the thumbnail in {src}")
    frame.reformat(size[0], size[1]).save(dst)


def frame_near(container: InputContainer, at: float, *, seek: bool) -> VideoFrame | None:
    stream = container.streams.video[0]
    if seek and stream.time_base is not None:
        try:
            container.seek(int(at / stream.time_base), stream=stream)
        except av.FFmpegError:
            return None
    last: VideoFrame | None = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is not None and frame.time >= at:
            break
    return last


# --------------------------------------------------------------------------- result


def compact(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def fit_termination(doc: dict[str, Any], limit: int = TERMINATION_LIMIT) -> str:
    """Compact JSON within ``limit`` bytes: streams are dropped from the end first."""
    doc = dict(doc)
    streams = list(doc.get("streams", []))
    text = compact(doc)
    while len(text.encode()) > limit and streams:
        streams.pop()
        doc["streams"], doc["streamsTruncated"] = streams, True
        text = compact(doc)
    if len(text.encode()) > limit:
        text = compact({"error": "result too large for the termination message"})
    return text


def write_termination(text: str) -> None:
    """Write the termination message; the default path is used only if the kubelet made it.

    Outside Kubernetes /dev/termination-log does not exist, and creating it (as root on a
    developer machine) would be a surprise, so that case is skipped silently.
    """
    configured = os.environ.get("TERMINATION_MESSAGE_PATH")
    path = Path(configured) if configured else DEFAULT_TERMINATION_PATH
    if not configured and not path.exists():
        return
    try:
        path.write_text(text)
    except OSError as exc:
        if configured:
            log("termination_write_failed", path=path, reason=repr(exc.strerror))


# --------------------------------------------------------------------------- CLI


@dataclass(frozen=True)
class Options:
    source: str
    output: Path
    height: int
    max_seconds: float
    thumbnail_at: float


@dataclass
class WorkerDeps:
    """Collaborators tests may replace: pass ``obj=WorkerDeps(...)`` to the click command."""

    sink: ProgressSink | None = None
    clock: Callable[[], float] = time.monotonic
    min_interval: float = PATCH_INTERVAL_S

    def reporter(self) -> ProgressReporter:
        return ProgressReporter(self.sink or sink_from_env(), self.clock, self.min_interval)


def process(options: Options, reporter: ProgressReporter) -> dict[str, Any]:
    """Probe, transcode, thumbnail; return the success document.

    PyAV errors after a successful probe (a corrupt packet mid-file) are still the
    source's fault, so they become the same permanent "not a readable video" failure,
    unless they are I/O errors (``unreadable`` tells them apart).
    """
    options.output.mkdir(parents=True, exist_ok=True)
    with local_source(options.source, options.output) as path:
        info = probe(path, options.source)
        log("probed", duration=info.duration, format=info.format, size=info.size)
        reporter.report(PROBE_DONE)
        try:
            outputs = render(path, info, options, reporter)
        except av.FFmpegError as exc:
            raise unreadable(options.source, exc) from exc
    reporter.report(100)
    return {
        "source": options.source, "duration": round(info.duration, 3), "format": info.format,
        "streams": info.streams, "size": info.size, **outputs,
    }


def render(path: Path, info: Probe, options: Options, reporter: ProgressReporter) -> dict[str, Any]:
    """Write rendition and thumbnail; progress runs from PROBE_DONE to TRANSCODE_DONE."""
    size = rendition_size(info.width, info.height, options.height)
    limit = min(info.duration, options.max_seconds) or options.max_seconds
    rendition, thumbnail = options.output / "rendition.mp4", options.output / "thumbnail.jpg"
    span = TRANSCODE_DONE - PROBE_DONE
    transcode(path, rendition, size, limit,
              lambda done: reporter.report(PROBE_DONE + span * min(1.0, done)))
    reporter.report(TRANSCODE_DONE)
    write_thumbnail(path, thumbnail, options.thumbnail_at * limit, size)
    return {
        "rendition": str(rendition.resolve()), "renditionHeight": size[1],
        "renditionWidth": size[0], "thumbnail": str(thumbnail.resolve()),
    }


def finish(doc: dict[str, Any], reporter: ProgressReporter | None) -> None:
    """Send the last progress value, then publish the result (termination file and stdout)."""
    if reporter is not None:
        reporter.flush()
    text = fit_termination(doc)
    write_termination(text)
    click.echo(text)


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into ``Terminated`` for the duration of a run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def fail(reason: str, *, retryable: bool, code: int | None = None) -> NoReturn:
    """Publish ``{"error": ..., "retryable": ...}`` and exit: 1 if permanent, else ``code``
    (default 75)."""
    reason = one_line(reason)
    click.echo(f"error: {reason}", err=True)
    finish({"error": reason, "retryable": retryable}, None)
    if not retryable:
        raise SystemExit(EXIT_BAD_SOURCE)
    raise SystemExit(code if code is not None else EXIT_RETRYABLE)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--source", required=True, help="file:// URI, plain path, or http(s):// URL.")
@click.option("--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for rendition.mp4 and thumbnail.jpg (created if missing).")
@click.option("--height", default=144, show_default=True, type=click.IntRange(16, 4320),
              help="Rendition height in pixels (rounded down to even).")
@click.option("--max-seconds", default=30.0, show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="Transcode at most this many seconds of the source.")
@click.option("--thumbnail-at", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Thumbnail position as a fraction of the (transcoded) duration.")
@click.pass_context
def main(ctx: click.Context, source: str, output: Path, height: int, max_seconds: float,
         thumbnail_at: float) -> None:
    """Make a small rendition and a thumbnail of one course module video."""
    options = Options(source, output, height, max_seconds, thumbnail_at)
    deps = ctx.find_object(WorkerDeps) or WorkerDeps()
    with sigterm_raises():
        try:
            reporter = deps.reporter()
            doc = process(options, reporter)
        except WorkerError as exc:
            fail(str(exc), retryable=exc.retryable)
        except Terminated:
            fail("terminated by SIGTERM", retryable=True, code=EXIT_TERMINATED)
        except OSError as exc:  # a full disk, a failing volume: not the source's fault
            fail(f"I/O error: {exc}", retryable=True)
        except Exception as exc:  # a bug here must not be blamed on the user's upload
            fail(f"internal error: {type(exc).__name__}: {exc}", retryable=True)
        finish(doc, reporter)


if __name__ == "__main__":
    main()
