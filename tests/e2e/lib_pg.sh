# A PostgreSQL server of the test's own (sourced by lib_api.sh and by the
# tests of nexapi replicas): Debian's server binaries, a cluster made by
# initdb in a temporary directory as the postgres user, listening on a unix
# socket in that directory only. The caller defines fail and calls pg_stop
# at exit.

PG_DIR=
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

# pg_start: this test's PostgreSQL server (once): initdb into a temporary
# directory as the postgres user, a unix socket there and no TCP listener,
# fsync off unless PG_FSYNC=on (a test's data needs no durability; a
# benchmark's commits must be as durable as SQLite's); pg_stop stops it and
# removes the directory. No system service is used.
pg_start() {
	[ -z "$PG_DIR" ] || return 0
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || fail "no PostgreSQL server binaries (Debian package postgresql)"
	PG_DIR=$(mktemp -d "/tmp/nx-pg-$$.XXXXXX")
	chown postgres: "$PG_DIR"
	chmod 0700 "$PG_DIR"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync \
		>"$PG_DIR/initdb.log" 2>&1 || fail "initdb: $(tail -n 5 "$PG_DIR/initdb.log")"
	pg_up
}

# pg_up / pg_down: starts / stops (fast: connections are cut) the server.
pg_up() {
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -l "$PG_DIR/server.log" \
		-o "-k $PG_DIR -c listen_addresses= -c fsync=${PG_FSYNC:-off} -c max_connections=300" start >/dev/null ||
		fail "PostgreSQL did not start: $(tail -n 5 "$PG_DIR/server.log")"
}
pg_down() {
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -m fast stop >/dev/null ||
		fail "PostgreSQL did not stop"
}

pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -m immediate stop \
			>/dev/null 2>&1 || true
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
}

# psql_q DBNAME SQL: runs SQL on this test's server; prints rows unaligned.
psql_q() {
	runuser -u postgres -- psql -h "$PG_DIR" -U postgres -d "$1" -XtAq -v ON_ERROR_STOP=1 -c "$2"
}

# pg_db DBNAME: creates database DBNAME once (pg_start first) and sets
# PG_URI to its libpq URI.
declare -A PG_DBS=()
pg_db() {
	pg_start
	if [ -z "${PG_DBS[$1]:-}" ]; then
		if [ -z "$(psql_q postgres "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; then
			psql_q postgres "CREATE DATABASE $1" || fail "cannot create database $1"
		fi
		PG_DBS[$1]=1
	fi
	PG_URI="postgresql:///$1?host=$PG_DIR&user=postgres"
}
