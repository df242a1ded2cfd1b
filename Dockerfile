# syntax=docker/dockerfile:1
# The worker image the Helm chart runs: `outreach-hub worker` against an external Kafka and
# PostgreSQL. Without the `embedded` extra (no Tansu, no pgserver binaries), as a numeric
# non-root user, with nothing written outside the data directory and /tmp, so it runs with a
# read-only root filesystem (the chart mounts both as emptyDir volumes).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# streams/topics.yaml is a link to the catalog at the root: both go in.
COPY pyproject.toml README.md topics.yaml ./
COPY streams ./streams
COPY agents ./agents
# The project's wheel and a wheel of every dependency: the runtime stage installs offline,
# with no compiler and no build tools.
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/outreach-hub/bin:$PATH \
    HOME=/tmp \
    OUTREACH_DATA_DIR=/var/lib/outreach-hub \
    OUTREACH_WEB_HOST=0.0.0.0 \
    OUTREACH_WEB_PORT=6066
# The wheels are bind-mounted from the builder, not copied: no layer keeps them.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/outreach-hub \
    && /opt/outreach-hub/bin/pip install --no-index --find-links=/wheels outreach-hub \
    && mkdir -p /var/lib/outreach-hub \
    && chown 10001:10001 /var/lib/outreach-hub
VOLUME ["/var/lib/outreach-hub", "/tmp"]
USER 10001:10001
EXPOSE 6066
ENTRYPOINT ["outreach-hub"]
CMD ["worker"]
