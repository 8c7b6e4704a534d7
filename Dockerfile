# Đối thoại bot: one image for the bot (`run`) and the staff web console (`web`); compose.yaml
# runs both on one database volume. Build: docker build -t doithoai-bot .
# Dependencies come from requirements.lock with their hashes: a build today equals a build next
# month. Python 3.11, the version the lock was made for.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DOITHOAI_CONFIG=/app/config.toml

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
COPY deploy/entrypoint.sh deploy/healthcheck.py ./deploy/
COPY config.toml config.demo.toml ./

# The bot runs as its own user; only /app/data (the database, its backups, spooled alerts; the
# demo's data/demo.db too) is writable: mount a volume there. Mount the union's config
# read-only over /app/config.toml: its relative paths (data/doithoai.db, locales/vi.toml,
# data/backups) then resolve inside the image as they do in a checkout.
RUN useradd --system --uid 10001 --home-dir /app/data --shell /usr/sbin/nologin doithoai \
    && mkdir -p /app/data && chown doithoai:doithoai /app/data && chmod 700 /app/data
USER doithoai
VOLUME ["/app/data"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["run"]
