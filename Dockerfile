# syntax=docker/dockerfile:1
# gatehouse: a static binary on a distroless base, running as an unprivileged
# user, with its SQLite database (and the generated master secret beside it)
# on the /data volume.
#
#   docker build -t gatehouse --build-arg VERSION=$(git describe --tags --always) .
#   docker run -p 8080:8080 -v gatehouse-data:/data gatehouse
#
# With PostgreSQL, set GATEHOUSE_DATABASE=postgres://... and GATEHOUSE_SECRET
# (deploy/docker-compose.yml runs two nodes that way).

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version shown by `gatehouse version`; empty falls back to the build
# information Go embeds.
ARG VERSION=""
# This line is run by cmd/gatehouse's TestDockerfileBuild: keep it on one line.
# (No -trimpath: it would keep the test from reusing the build cache.)
RUN CGO_ENABLED=0 go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/gatehouse ./cmd/gatehouse
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
# The volume's mount point belongs to the nonroot user (65532), so the
# database and its .secret file can be created there.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
ENV GATEHOUSE_ADDR=0.0.0.0:8080 \
    GATEHOUSE_DATABASE=/data/gatehouse.db
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
