# Sourced by .ci/run: a throwaway PostgreSQL cluster on a free port, from
# the system packages; exports TEST_DATABASE_URL and stops it on exit.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_dir=$(mktemp -d /tmp/dailyprogress-pg.XXXXXX)
chown postgres "$pg_dir"
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_postgres() { runuser -u postgres -- "$@"; }
as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
  start >/dev/null
trap 'as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null; rm -rf "$pg_dir"' EXIT
as_postgres "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" dailyprogress_test
export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/dailyprogress_test"
