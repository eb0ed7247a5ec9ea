# passbox as a container: the sandbox with the default SQLite store in the /data volume, or any
# store given by PASSBOX_STORE (PostgreSQL for replicas, see compose.yaml).
#
#   docker build -t passbox .
#   docker run --rm -p 8000:8000 -v passbox-data:/data -e PASSBOX_ADMIN_TOKEN=change-me-admin-token passbox
#
# tests/packaging/test_container.py replays the COPY and `RUN pip install` lines below in a clean
# virtualenv (no container engine needed): keep them simple, one source path per COPY.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Only what the wheel needs (see [tool.hatch.build.targets.wheel] in pyproject.toml).
COPY pyproject.toml pyproject.toml
COPY README.md README.md
COPY LICENSE LICENSE
COPY sandbox sandbox
COPY clients clients
COPY specs specs
COPY fixtures fixtures

# The wheel carries specs/ and fixtures/ inside the package; the postgres extra brings psycopg.
RUN pip install --no-cache-dir '.[postgres]'

# A non-root user owning the data directory (created before VOLUME, so a new named volume
# starts out owned by it too). The source tree is not needed once installed.
RUN groupadd --system --gid 10001 passbox \
    && useradd --system --uid 10001 --gid passbox --home-dir /data --no-create-home --shell /usr/sbin/nologin passbox \
    && mkdir -p /data \
    && chown passbox:passbox /data \
    && rm -rf /src

WORKDIR /data
USER passbox

# The default store: SQLite at /data/passbox.db, kept across container restarts in the volume.
# Set PASSBOX_STORE (postgresql://... or memory://) to use another one.
ENV PASSBOX_DATA_DIR=/data
VOLUME /data

EXPOSE 8000

# No curl in the slim image: the standard library asks /health.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import json, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4); sys.exit(0 if json.load(r).get('status') == 'ok' else 1)"]

# Bound to every interface inside the container, so the banner warns about an open control
# plane unless PASSBOX_ADMIN_TOKEN is set: set it whenever the port is reachable by others.
CMD ["passbox", "serve", "--host", "0.0.0.0", "--port", "8000"]
