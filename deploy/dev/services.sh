#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ run on this Debian 12 machine, for `make run` and
# `make test`: installs them from Debian packages only if absent, starts them only if
# stopped, and creates the service's role, database and the test vhost. Idempotent.
set -euo pipefail

log() { echo "services.sh: $*" >&2; }
APT_UPDATED=0
apt_install() {
  [ "$APT_UPDATED" = 1 ] || { apt-get update >&2; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # wait_port PORT NAME SECONDS
  for _ in $(seq 1 $(($3 * 10))); do port_open "$1" && return 0; sleep 0.1; done
  log "$2 did not start listening on 127.0.0.1:$1"; exit 1
}

# Python venv support (Debian splits it out of python3).
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  log "installing python3-venv"; apt_install python3-venv
fi

# PostgreSQL
if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  log "installing PostgreSQL"; apt_install postgresql
fi
if ! port_open 5432; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  wait_port 5432 PostgreSQL 30
fi
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nzc') THEN
    CREATE ROLE nzc LOGIN CREATEDB PASSWORD 'nzc';
  END IF;
END $$;
SELECT 'CREATE DATABASE nzc OWNER nzc'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'nzc') \gexec
SQL

# RabbitMQ
if ! command -v rabbitmq-server >/dev/null; then
  log "installing RabbitMQ"; apt_install rabbitmq-server
fi
if ! port_open 5672; then
  log "starting RabbitMQ"
  rabbitmq-server -detached
  wait_port 5672 RabbitMQ 60
fi
# Tests and benchmarks use their own vhosts, so a running `make run` worker never takes
# their messages.
vhosts=$(rabbitmqctl -q list_vhosts 2>/dev/null || true)
for vhost in nzc-test nzc-bench; do
  if ! grep -qx "$vhost" <<<"$vhosts"; then
    rabbitmqctl -q add_vhost "$vhost" >&2
    rabbitmqctl -q set_permissions -p "$vhost" guest ".*" ".*" ".*" >&2
  fi
done
