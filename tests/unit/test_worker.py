"""The worker against real media files: what the controller and the user rely on.

PyAV is never mocked; inputs come from ``controller.samples``. Only the progress sink and
the Kubernetes API object are fakes, because they are the worker's outside world.
"""

from __future__ import annotations

import errno
import http.server
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import av
import pytest
from click.testing import CliRunner, Result

from controller import worker
from controller.samples import make_not_a_video, make_sample_video
from controller.worker import (
    EXIT_BAD_SOURCE,
    EXIT_RETRYABLE,
    PROGRESS_ANNOTATION,
    TERMINATION_LIMIT,
    BadSource,
    PodAnnotationSink,
    ProgressReporter,
    ProgressSink,
    SourceUnavailable,
    WorkerDeps,
    WorkerError,
    download,
    fit_termination,
    main,
    rendition_size,
    unreadable,
)

SECONDS = 2.0


@dataclass
class RecordingSink:
    values: list[int] = field(default_factory=list)

    def send(self, percent: int) -> None:
        self.values.append(percent)


@dataclass
class Run:
    """What one worker run left behind."""

    exit_code: int
    stdout: str
    stderr: str
    termination: str

    @property
    def doc(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.termination)
        return parsed


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(tmp_path_factory.mktemp("media") / "lecture.mp4", seconds=SECONDS)


def fake_clock() -> Iterator[float]:
    """Each reading is one second later, so the rate limit never hides a value."""
    return itertools.count(0.0, 1.0)


def invoke(tmp_path: Path, *args: str, sink: ProgressSink | None = None) -> Run:
    term = tmp_path / "termination-log"
    clock = fake_clock()
    deps = WorkerDeps(sink=sink or RecordingSink(), clock=lambda: next(clock))
    env = {"TERMINATION_MESSAGE_PATH": str(term), "POD_NAME": None, "POD_NAMESPACE": None}
    result: Result = CliRunner().invoke(main, list(args), obj=deps, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    text = term.read_text() if term.exists() else ""
    return Run(result.exit_code, result.stdout, result.stderr, text)


def worker_command() -> list[str]:
    script = Path(sys.executable).with_name("course-worker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "controller.worker"]


def subprocess_env(term: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POD_NAME", "POD_NAMESPACE")}
    env["TERMINATION_MESSAGE_PATH"] = str(term)
    return env


def video_shape(path: Path) -> tuple[int, int, float]:
    """Width, height and duration as a player would see them, by decoding a frame."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        duration = (container.duration or 0) / av.time_base
    return frame.width, frame.height, duration


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on 127.0.0.1 serving ``tmp_path / "www"``; yields (base, dir)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def status_handler(code: int) -> type[http.server.BaseHTTPRequestHandler]:
    """Answers every GET with ``code`` and an empty body."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --------------------------------------------------------------------------- success


def test_local_file_produces_rendition_thumbnail_and_result(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = invoke(tmp_path, "--source", str(sample), "--output", str(out), "--height", "144")

    assert run.exit_code == 0, run.stderr
    doc = run.doc
    assert doc["duration"] == pytest.approx(SECONDS, rel=0.1)
    assert doc["format"].startswith("mov,mp4")
    assert doc["size"] == sample.stat().st_size
    assert [s["type"] for s in doc["streams"]] == ["video", "audio"]
    assert doc["streams"][0]["width"] == 320 and doc["streams"][0]["height"] == 240
    assert doc["streams"][1]["channels"] == 1
    assert doc["renditionHeight"] == 144
    assert Path(doc["rendition"]) == (out / "rendition.mp4").resolve()
    width, height, duration = video_shape(Path(doc["rendition"]))
    assert (width, height) == (192, 144)
    assert duration == pytest.approx(SECONDS, rel=0.1)
    assert video_shape(Path(doc["thumbnail"]))[:2] == (192, 144)
    assert json.loads(run.stdout.strip().splitlines()[-1]) == doc


def test_progress_is_monotonic_and_ends_high(sample: Path, tmp_path: Path) -> None:
    sink = RecordingSink()
    run = invoke(tmp_path, "--source", str(sample), "--output", str(tmp_path / "o"), sink=sink)

    assert run.exit_code == 0, run.stderr
    assert sink.values == sorted(sink.values)
    assert len(set(sink.values)) == len(sink.values)
    assert sink.values[0] <= 5
    assert any(5 < v < 95 for v in sink.values), "transcode progress is reported as it goes"
    assert sink.values[-1] >= 95


def test_max_seconds_limits_the_rendition(sample: Path, tmp_path: Path) -> None:
    run = invoke(tmp_path, "--source", str(sample), "--output", str(tmp_path / "o"),
                 "--max-seconds", "1", "--height", "97")

    assert run.exit_code == 0, run.stderr
    width, height, duration = video_shape(Path(run.doc["rendition"]))
    assert height == run.doc["renditionHeight"] == 96
    assert width % 2 == 0
    assert duration == pytest.approx(1.0, abs=0.25)
    assert run.doc["duration"] == pytest.approx(SECONDS, rel=0.1), "probe reports the source"


def test_file_uri_and_video_without_audio(tmp_path: Path) -> None:
    silent = make_sample_video(tmp_path / "silent.mp4", seconds=1.0, audio=False)
    run = invoke(tmp_path, "--source", silent.as_uri(), "--output", str(tmp_path / "o"))

    assert run.exit_code == 0, run.stderr
    assert [s["type"] for s in run.doc["streams"]] == ["video"]


def test_http_source_is_downloaded_and_cleaned_up(
    sample: Path, tmp_path: Path, http_dir: tuple[str, Path]
) -> None:
    base, root = http_dir
    shutil.copy(sample, root / "lecture.mp4")
    out = tmp_path / "out"
    run = invoke(tmp_path, "--source", f"{base}/lecture.mp4", "--output", str(out))

    assert run.exit_code == 0, run.stderr
    assert run.doc["size"] == sample.stat().st_size
    assert sorted(p.name for p in out.iterdir()) == ["rendition.mp4", "thumbnail.jpg"]


def test_real_process_succeeds(sample: Path, tmp_path: Path) -> None:
    term = tmp_path / "termination-log"
    proc = subprocess.run(
        [*worker_command(), "--source", str(sample), "--output", str(tmp_path / "out")],
        env=subprocess_env(term), capture_output=True, text=True, timeout=120, check=False,
    )

    assert proc.returncode == 0, proc.stderr
    doc = json.loads(term.read_text())
    assert doc["duration"] == pytest.approx(SECONDS, rel=0.1)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == doc
    assert "event=progress" in proc.stderr, "without POD_NAME progress goes to stderr"


# --------------------------------------------------------------------------- failures


def assert_one_line_error(run: Run, *fragments: str, retryable: bool) -> None:
    """The termination message is ``{"error": <one line>, "retryable": <bool>}``, and the
    exit status agrees with it: 1 for a bad source, 75 for anything worth a retry."""
    assert run.exit_code == (EXIT_RETRYABLE if retryable else EXIT_BAD_SOURCE), run.stderr
    reason = run.doc["error"]
    assert run.doc == {"error": reason, "retryable": retryable}
    assert "\n" not in reason and "Traceback" not in reason
    assert "\n" not in run.termination
    for fragment in fragments:
        assert fragment in reason
    assert f"error: {reason}" in run.stderr.splitlines()


def test_text_file_named_mp4_is_a_bad_source(tmp_path: Path) -> None:
    notes = make_not_a_video(tmp_path / "notes.mp4")
    run = invoke(tmp_path, "--source", str(notes), "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "source is not a readable video", str(notes), retryable=False)


def test_missing_file_is_a_bad_source(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    run = invoke(tmp_path, "--source", str(missing), "--output", str(tmp_path / "o"))

    assert_one_line_error(run, f"source not found: {missing}", retryable=False)


def test_a_directory_is_a_bad_source(tmp_path: Path) -> None:
    run = invoke(tmp_path, "--source", str(tmp_path), "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "source is not a file", retryable=False)


def test_empty_file_is_a_bad_source(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    run = invoke(tmp_path, "--source", str(empty), "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "source is empty", retryable=False)


def test_unsupported_scheme_is_a_bad_source(tmp_path: Path) -> None:
    run = invoke(tmp_path, "--source", "ftp://files.example.com/a.mp4",
                 "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "unsupported source scheme 'ftp'", retryable=False)


def test_closed_port_is_retryable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/lecture.mp4"
    run = invoke(tmp_path, "--source", url, "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "source download failed", url, retryable=True)


def test_http_404_is_a_bad_source(tmp_path: Path, http_dir: tuple[str, Path]) -> None:
    url = f"{http_dir[0]}/nope.mp4"
    run = invoke(tmp_path, "--source", url, "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "HTTP 404", url, retryable=False)


@pytest.mark.parametrize(("code", "retryable"), [
    (400, False), (401, False), (403, False), (410, False),
    (408, True), (429, True), (500, True), (502, True), (503, True),
])
def test_http_client_errors_are_permanent_server_errors_and_429_are_not(
    tmp_path: Path, code: int, retryable: bool,
) -> None:
    with http_server(status_handler(code)) as base:
        run = invoke(tmp_path, "--source", f"{base}/a.mp4", "--output", str(tmp_path / "o"))

    assert_one_line_error(run, f"HTTP {code}", retryable=retryable)


def test_an_empty_http_body_is_a_bad_source(tmp_path: Path) -> None:
    with http_server(status_handler(200)) as base:
        run = invoke(tmp_path, "--source", f"{base}/a.mp4", "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "source is empty", retryable=False)


def test_a_download_cut_short_is_retryable_not_a_bad_video(tmp_path: Path) -> None:
    """The connection drops after 10 of 1000 bytes: probing those 10 bytes would say "not a
    video", a permanent verdict on what was a network failure."""

    class CutShort(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"0123456789")

    with http_server(CutShort) as base:
        run = invoke(tmp_path, "--source", f"{base}/a.mp4", "--output", str(tmp_path / "o"))

    assert_one_line_error(run, "cut short: 10 of 1000 bytes", retryable=True)


def test_a_stalled_download_times_out_and_is_retryable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()

    class Stalling(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            release.wait(30)

    monkeypatch.setattr(worker, "DOWNLOAD_TIMEOUT_S", 0.3)
    with http_server(Stalling) as base:
        try:
            run = invoke(tmp_path, "--source", f"{base}/a.mp4",
                         "--output", str(tmp_path / "o"))
        finally:
            release.set()

    assert_one_line_error(run, "source download failed", "timed out", retryable=True)


def test_an_io_error_on_the_output_is_retryable(sample: Path, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    run = invoke(tmp_path, "--source", str(sample), "--output", str(not_a_dir / "o"))

    assert_one_line_error(run, "I/O error", retryable=True)


def test_an_internal_error_is_retryable(sample: Path, tmp_path: Path) -> None:
    class BrokenSink:
        def send(self, percent: int) -> None:
            raise RuntimeError("bug")

    run = invoke(tmp_path, "--source", str(sample), "--output", str(tmp_path / "o"),
                 sink=BrokenSink())

    assert_one_line_error(run, "internal error: RuntimeError: bug", retryable=True)


@pytest.mark.parametrize(("error", "retryable"), [
    (av.error.InvalidDataError(1094995529, "Invalid data found when processing input"), False),
    (av.error.EOFError(errno.EPIPE, "End of file"), False),
    (av.error.OSError(errno.EIO, "Input/output error"), True),
    (av.error.OSError(errno.ENOSPC, "No space left on device"), True),
    (av.error.MemoryError(errno.ENOMEM, "Cannot allocate memory"), True),
])
def test_media_errors_blame_the_source_only_for_its_content(
    error: av.FFmpegError, retryable: bool,
) -> None:
    failure = unreadable("file:///a.mp4", error)

    assert failure.retryable is retryable
    assert "file:///a.mp4" in str(failure) and str(error.strerror) in str(failure)


def test_every_worker_error_is_retryable_unless_it_blames_the_source() -> None:
    assert WorkerError("x").retryable and SourceUnavailable("x").retryable
    assert not BadSource("x").retryable
    assert isinstance(BadSource("x"), WorkerError)


def test_real_process_exits_1_on_bad_source(tmp_path: Path) -> None:
    term = tmp_path / "termination-log"
    notes = make_not_a_video(tmp_path / "notes.mp4")
    proc = subprocess.run(
        [*worker_command(), "--source", str(notes), "--output", str(tmp_path / "out")],
        env=subprocess_env(term), capture_output=True, text=True, timeout=60, check=False,
    )

    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: source is not a readable")
    assert "Traceback" not in proc.stderr
    doc = json.loads(term.read_text())
    assert "source is not a readable video" in doc["error"] and doc["retryable"] is False


def test_usage_error_exits_2(tmp_path: Path) -> None:
    run = invoke(tmp_path, "--output", str(tmp_path / "o"))

    assert run.exit_code == 2


def test_sigterm_exits_143(tmp_path: Path) -> None:
    """A download that never finishes is interrupted; no race with a fast transcode."""
    requested, release = threading.Event(), threading.Event()

    class StallingHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            requested.set()
            release.wait(60)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StallingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    term = tmp_path / "termination-log"
    url = f"http://127.0.0.1:{server.server_address[1]}/slow.mp4"
    try:
        proc = subprocess.Popen(
            [*worker_command(), "--source", url, "--output", str(tmp_path / "out")],
            env=subprocess_env(term), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert requested.wait(60), "worker never requested the source"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()

    assert proc.returncode == 143, stderr
    assert json.loads(term.read_text()) == {"error": "terminated by SIGTERM", "retryable": True}


# --------------------------------------------------------------------------- parts


def test_download_refuses_bodies_over_the_cap(
    sample: Path, tmp_path: Path, http_dir: tuple[str, Path]
) -> None:
    base, root = http_dir
    shutil.copy(sample, root / "lecture.mp4")

    with pytest.raises(BadSource, match="larger than 1000 bytes"):
        download(f"{base}/lecture.mp4", tmp_path / "dl", cap=1000)


def test_download_refuses_bodies_over_the_cap_whatever_content_length_says(
    tmp_path: Path,
) -> None:
    class Chunked(QuietHandler):
        def do_GET(self) -> None:  # no Content-Length: the cap is checked while copying
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"x" * 5000)

    with http_server(Chunked) as base, pytest.raises(BadSource, match="larger than 1000"):
        download(f"{base}/a.mp4", tmp_path / "dl", cap=1000)


def test_reporter_rate_limits_but_flush_delivers_the_last_value() -> None:
    sink, now = RecordingSink(), [0.0]
    reporter = ProgressReporter(sink, clock=lambda: now[0], min_interval=0.5)

    for percent, at in [(5, 0.0), (10.4, 0.1), (20, 0.2), (20.9, 0.6), (15, 0.7), (30, 0.8)]:
        now[0] = at
        reporter.report(percent)
    assert sink.values == [5, 20]
    reporter.flush()
    reporter.flush()
    assert sink.values == [5, 20, 30]


def test_reporter_clamps_to_0_100() -> None:
    sink = RecordingSink()
    clock = fake_clock()
    reporter = ProgressReporter(sink, clock=lambda: next(clock))

    reporter.report(-3)
    reporter.report(250)
    assert sink.values == [0, 100]


class FakeCoreV1:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str, Any, dict[str, Any]]] = []

    def patch_namespaced_pod(self, name: str, namespace: str, body: Any, **kw: Any) -> None:
        self.calls.append((name, namespace, body, kw))
        if self.fail:
            raise RuntimeError("forbidden:\npods is not allowed")


def test_pod_sink_sends_a_merge_patch_of_the_annotation() -> None:
    api = FakeCoreV1()
    PodAnnotationSink("c-m-1", "courses", api_factory=lambda: api).send(57)

    [(name, namespace, body, kw)] = api.calls
    assert (name, namespace) == ("c-m-1", "courses")
    assert body == {"metadata": {"annotations": {PROGRESS_ANNOTATION: "57"}}}
    assert kw["_content_type"] == "application/merge-patch+json"


def test_pod_sink_failure_is_logged_once_and_never_raises(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = FakeCoreV1(fail=True)
    sink = PodAnnotationSink("c-m-1", "courses", api_factory=lambda: api)

    for percent in (5, 50, 95):
        sink.send(percent)
    assert len(api.calls) == 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "progress_patch_failed" in lines[0]


def test_termination_message_is_trimmed_to_the_kubelet_limit() -> None:
    streams = [{"index": i, "type": "audio", "codec": "aac" * 20} for i in range(200)]
    text = fit_termination({"duration": 1.0, "streams": streams})

    doc = json.loads(text)
    assert len(text.encode()) <= TERMINATION_LIMIT
    assert 0 < len(doc["streams"]) < 200
    assert doc["streamsTruncated"] is True
    assert doc["duration"] == 1.0


@pytest.mark.parametrize(
    ("source", "height", "expected"),
    [((320, 240), 144, (192, 144)), ((1920, 1080), 144, (256, 144)),
     ((1080, 1920), 145, (80, 144)), ((100, 100), 16, (16, 16))],
)
def test_rendition_size_keeps_aspect_and_even_sides(
    source: tuple[int, int], height: int, expected: tuple[int, int]
) -> None:
    assert rendition_size(*source, height) == expected
