# One image for every service and the simulator: the build stage compiles the Rust book with
# maturin (through uv, from uv.lock) into a virtualenv; the runtime stage carries only that venv.
# Pick the process with the command, e.g. `python -m quoter` or `python -m mm_sim`.
# /bus belongs to the service user so that compose's `bus-credentials` volume (initialised from it)
# is writable by `python -m mm_runtime.bus_auth /bus`.

FROM rust:1-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev \
    && rm -rf /var/lib/apt/lists/*
ENV UV_PYTHON_DOWNLOADS=never UV_PYTHON=/usr/bin/python3 UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
RUN python3 -m venv /tools && /tools/bin/pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY . .
RUN /tools/bin/uv sync --locked --no-dev --no-editable

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home mm \
    && mkdir -p /bus && chown mm /bus
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER mm
CMD ["python", "-m", "mm_cli", "--help"]
