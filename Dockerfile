# syntax=docker/dockerfile:1
# One image, two entry points: "course-controller run" (the Deployment) and "course-worker"
# (the processing pods the controller creates). PyAV's wheels bundle FFmpeg, so the runtime
# stage needs no system packages.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY controller ./controller
# The project pins its dependency ranges in pyproject.toml; install it (not editable).
RUN pip install --no-cache-dir . \
    && python -m compileall -q /opt/venv

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="course-controller" \
      org.opencontainers.image.description="Course controller and course-worker" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A numeric, non-root user: runAsNonRoot can verify it, and the chart runs as 10001.
RUN groupadd --system --gid 10001 course \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin course
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080 8081
# No ENTRYPOINT, so a pod's "command" picks the program: course-worker for processing pods.
CMD ["course-controller", "run"]
