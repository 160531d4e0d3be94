# One image for every role; the command picks it: `calsync operator` (default), `calsync webhook`,
# `calsync check`, and `calsync demo` to try it. No credentials are baked in: tokens come from
# Secrets at run time. bench/image.py builds it, measures it and runs every role in it.
# The Python the tests run on; the Debian release pinned too, so a rebuild does not jump to the next.
FROM python:3.11-slim-bookworm

# HOME is /tmp: the only writable place when the root filesystem is read-only (the chart mounts
# an emptyDir there; `docker run --read-only --tmpfs /tmp` does the same).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/tmp

# A fixed numeric uid/gid, so that `runAsNonRoot` can verify it without /etc/passwd lookups.
RUN groupadd --system --gid 10001 calsync \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin calsync

# Extras to install on top of the runtime: none in the production image (no kmock in it, so
# `calsync demo` prints the install hint there, and `calsync demo --kubeconfig` still runs);
# `--build-arg CALSYNC_EXTRAS=demo` adds the in-memory Kubernetes API for `docker run IMAGE demo`.
# Declared before the COPY below, so both variants share the layers above it.
ARG CALSYNC_EXTRAS=""

WORKDIR /app
# The runtime dependencies are pinned (==) in pyproject.toml, so this install is reproducible.
COPY pyproject.toml README.md ./
COPY operator/ operator/
COPY webhook/ webhook/
# Install and prune in one layer (a later layer cannot shrink an earlier one). Pruned, because
# nothing calsync runs loads them: Google's discovery documents other than Calendar v3 (the
# client is built from that bundled document only), the kubernetes client's asyncio variant
# (kopf talks to the API itself; the CLI uses the synchronous client), and werkzeug (sendgrid
# needs it only for its inbound-mail parser). Then the build's leftovers.
RUN pip install --no-cache-dir ".${CALSYNC_EXTRAS:+[$CALSYNC_EXTRAS]}" \
    && site="$(python -c 'import os, googleapiclient; print(os.path.dirname(os.path.dirname(googleapiclient.__file__)))')" \
    && find "$site/googleapiclient/discovery_cache/documents" -type f ! -name calendar.v3.json -delete \
    && rm -rf "$site/kubernetes/aio" \
    && pip uninstall --yes --quiet werkzeug markupsafe \
    && rm -rf /app/operator /app/webhook /app/build /app/*.egg-info /app/pyproject.toml /app/README.md
# The CRD and the examples, for `kubectl apply` from inside the image and for `calsync demo`.
COPY crds/ crds/
COPY examples/ examples/

USER 10001:10001
# HTTP: the webhook (/push, /healthz, /readyz, /metrics) or the operator's liveness probe;
# 9090: the operator's Prometheus metrics.
EXPOSE 8080 9090
ENTRYPOINT ["calsync"]
CMD ["operator"]
