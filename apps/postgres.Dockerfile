# PostgreSQL 15 from Debian, for machines without a registry (this repository's tests).
# Users of docker-compose.yml get the official postgres image instead (POSTGRES_IMAGE);
# this image takes the same POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB variables.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# Debian stable's postgresql-15 only receives security fixes; an exact revision pin would break
# the build at the next security update, so the major version is the pin.
# The postgres account gets the official image's ids (999) so volumes move between the two.
# hadolint ignore=DL3008
RUN groupadd --system --gid 999 postgres \
    && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql \
       --shell /bin/sh postgres \
    && apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER 999:999
EXPOSE 5432
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=3s --retries=10 CMD ["pg_isready", "-h", "127.0.0.1"]
ENTRYPOINT ["postgres-entrypoint.sh"]
