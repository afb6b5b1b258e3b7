#!/bin/sh
# The PgBouncer suite against the current PgBouncer in Debian's archive (1.24, built from its
# source package by scripts/fetch-pgbouncer.sh), after Debian 12's 1.18: SHOW DATABASES' renamed
# reserve column, and a SIGTERM that waits for every client to leave, the agent included.
set -eu
PGVIGIL_TEST_PGBOUNCER=$("$PGVIGIL_SOURCE_DIR/scripts/fetch-pgbouncer.sh")
export PGVIGIL_TEST_PGBOUNCER
exec python3 -m unittest -v test_pgbouncer
