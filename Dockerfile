# Loa's container image: runtime dependencies only (`pip install .`), run as a non-root user.
# Build: docker build -t loa .   Run with PostgreSQL: docker compose up -d (see compose.yaml).
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/loa
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY bot ./bot
COPY messages ./messages
COPY scheduler ./scheduler
RUN /opt/loa/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/loa/bin/pip install --no-cache-dir -c constraints.txt . \
 && find /opt/loa -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /home/loa loa \
 && mkdir -p /data \
 && chown loa:loa /data
COPY --from=build /opt/loa /opt/loa
ENV PATH=/opt/loa/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    LOA_WEB_LISTEN=0.0.0.0 \
    LOA_WEB_PORT=8080
USER loa
# The working directory holds .env (if mounted), the SQLite file when no PostgreSQL is used,
# a ward's own pack and the posters.
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LOA_WEB_PORT', '8080'), timeout=4)"
ENTRYPOINT ["loa"]
CMD ["run"]
