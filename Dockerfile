# One image for the desk: identity, projects, funding, the gateway and the migration job differ only by
# their command (see docker-compose.yml). No secret is baked in: every secret comes from the environment or
# a mounted file at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Pinned runtime dependencies only (wheels: psycopg-binary, cryptography, argon2 need no compiler here).
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code that runs, and nothing else (tests, bench, var/ and keys stay out; see .dockerignore).
COPY alembic.ini ./
COPY common ./common
COPY services ./services
COPY gateway ./gateway
COPY migrations ./migrations
COPY scripts ./scripts

# Non-root, owning nothing under /app: the code is read-only to the process. It owns /data only, where the
# compose file mounts the volumes it writes (the documents vault, the mail outbox).
RUN groupadd --system --gid 10001 desk \
    && useradd --system --uid 10001 --gid desk --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin desk \
    && mkdir -p /data/documents /data/mail && chown -R desk:desk /data
USER desk:desk

EXPOSE 8000
# --no-proxy-headers: the gateway decides itself whose X-Forwarded-For to believe (GATEWAY_TRUSTED_PROXIES).
CMD ["uvicorn", "gateway.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--no-proxy-headers"]
