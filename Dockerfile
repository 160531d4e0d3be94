# One image for every role; the command picks it: `calsync operator` (default), `calsync webhook`,
# `calsync check`. No credentials are baked in: tokens come from Secrets at run time.
# The Python the tests run on; the Debian release pinned too, so a rebuild does not jump to the next.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A fixed numeric uid/gid, so that `runAsNonRoot` can verify it without /etc/passwd lookups.
RUN groupadd --system --gid 10001 calsync \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin calsync

WORKDIR /app
# The runtime dependencies are pinned (==) in pyproject.toml, so this install is reproducible.
COPY pyproject.toml README.md ./
COPY operator/ operator/
COPY webhook/ webhook/
RUN pip install --no-cache-dir . \
    && rm -rf /app/operator /app/webhook /app/build
# The CRD and the examples, for `kubectl apply` from inside the image. (`calsync demo` needs the
# `demo` extra, kmock, which the image leaves out: in the image it prints the install command.)
COPY crds/ crds/
COPY examples/ examples/

USER 10001:10001
# HTTP: the webhook (/push, /healthz, /readyz, /metrics) or the operator's liveness probe;
# 9090: the operator's Prometheus metrics.
EXPOSE 8080 9090
ENTRYPOINT ["calsync"]
CMD ["operator"]
