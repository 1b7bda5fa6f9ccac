# syntax=docker/dockerfile:1
# jieneng in a container: the release binary on a small Debian image, run as a non-root user.
#
#   docker build -t jieneng .
#   docker run -d --name jieneng -p 127.0.0.1:8080:8080 \
#     -v jieneng-data:/var/lib/jieneng -v "$PWD/jieneng.toml:/etc/jieneng/jieneng.toml:ro" jieneng
#
# The config must set `data_dir = "/var/lib/jieneng"` and `[http] listen = "0.0.0.0:8080"`.
# Device profiles, payload formats and the CJK font for PDFs are compiled into the binary, so
# the config is all it needs. The full stack (InfluxDB, Grafana, Mosquitto):
# deploy/compose/docker-compose.yml; walk-through: docs/deployment.md.

# --- build ---
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY devices ./devices
COPY assets ./assets
# The registry and target caches survive between builds (BuildKit); the binary is copied out
# of the cache in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
 && install -m 0755 target/release/jieneng /usr/local/bin/jieneng

# --- run ---
FROM debian:bookworm-slim
# ca-certificates: HTTPS to InfluxDB, webhooks, SMTP and MQTT over TLS; curl: the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 jieneng \
 && useradd --system --uid 10001 --gid jieneng --home-dir /var/lib/jieneng \
      --shell /usr/sbin/nologin jieneng \
 && install -d -o jieneng -g jieneng -m 0750 /var/lib/jieneng \
 && install -d -m 0755 /etc/jieneng
COPY --from=build /usr/local/bin/jieneng /usr/local/bin/jieneng

USER 10001:10001
WORKDIR /var/lib/jieneng
VOLUME ["/var/lib/jieneng"]
EXPOSE 8080
# /healthz needs no sign-in. A config listening on another port needs its own health check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
# SIGTERM: collection stops and the store writes every accepted reading before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/jieneng"]
CMD ["serve", "--config", "/etc/jieneng/jieneng.toml"]
