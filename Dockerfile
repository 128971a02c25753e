# syntax=docker/dockerfile:1
#
# guestpass bot image: a static Go binary on distroless, running as non-root.
#
#   docker build -t guestpass .
#   docker run -p 3978:3978 --env-file bot.env -v guestpass-data:/data guestpass
#
# CI machines have no Docker engine; scripts/docker-build-check.sh runs the build command below with
# the same environment and flags and checks the result, so keep the two in step (the script verifies
# that the build line below is unchanged).

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Module downloads are cached in their own layer and only rerun when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bot ./cmd/bot
# distroless has no shell to create directories, so the writable data directory is prepared here.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="guestpass" \
      org.opencontainers.image.description="Microsoft Teams bot for Microsoft Entra ID Governance guest access"
COPY --from=build /out/bot /bot
# /data is the only writable path the bot needs. The relative defaults (DATABASE_URL=data/guestpass.db,
# the sandbox state data/sandbox.json) resolve against the working directory /, i.e. into /data.
# Mount a volume on /data to keep the SQLite store across restarts (one replica only), or point
# DATABASE_URL at PostgreSQL, which is required for more than one replica.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
WORKDIR /
USER nonroot:nonroot
ENV PORT=3978 BIND_ADDRESS=0.0.0.0
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["/bot", "healthcheck"]
ENTRYPOINT ["/bot"]
