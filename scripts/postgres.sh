#!/usr/bin/env bash
# PostgreSQL for the store tests: Debian's cluster, started if it is not running,
# with a login the tests use. Each test creates its own database and drops it.
# Exports KHAOSAT_TEST_POSTGRES_URL (the admin connection tests create databases from).
start_postgres() {
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$version" ]; then
    echo "postgres.sh: no PostgreSQL cluster (apt-get install postgresql)" >&2
    return 1
  fi
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  for _ in $(seq 1 30); do
    su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
    sleep 1
  done
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'khaosat_test'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE ROLE khaosat_test LOGIN CREATEDB PASSWORD 'khaosat_test'\""
  # The tests' own sessions commit without waiting for the WAL flush (4 ms -> 0.4 ms
  # a commit here). A setting of this role only: the cluster's crash safety, and
  # every other login's, stay as they are.
  su postgres -c "psql -qc \"ALTER ROLE khaosat_test SET synchronous_commit = off\"" >/dev/null
  export KHAOSAT_TEST_POSTGRES_URL="postgres://khaosat_test:khaosat_test@127.0.0.1:5432/postgres"
}
