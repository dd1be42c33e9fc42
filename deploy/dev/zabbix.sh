#!/usr/bin/env bash
# Installs and starts real Zabbix frontend APIs on loopback for development and tests:
#   6.0 LTS (Debian bookworm)            http://127.0.0.1:8060/api_jsonrpc.php
#   7.0 LTS (Debian bookworm-backports)  http://127.0.0.1:8070/api_jsonrpc.php
# Both are unpacked from Debian packages (apt-get download + dpkg -x) into their own
# directory, since the two versions cannot be installed as packages at once. Each has its
# own database, loaded from the SQL of the zabbix-server-pgsql package of the same version,
# and a pristine copy (<db>_pristine) that tests clone to reset Zabbix in seconds.
# Idempotent: a second run only checks and prints. Prints "VERSION URL TOKEN" per version
# (with --quiet, "VERSION URL" only; the token stays in $ROOT/VERSION/api_token, mode 600).
set -euo pipefail

ROOT=${NZC_ZABBIX_HOME:-/opt/nzc-zabbix}
QUIET=0
[ "${1:-}" = --quiet ] && QUIET=1
PGHOST_ADDR=127.0.0.1
PGPORT_NUM=${NZC_PG_PORT:-5432}
ZBX_DB_USER=nzc_zabbix
ZBX_DB_PASSWORD=nzc_zabbix
# version  suite                port
VERSIONS=(
  "6.0 bookworm 8060"
  "7.0 bookworm-backports 8070"
)
PHP_PACKAGES=(php-cli php-cgi php-pgsql php-bcmath php-gd php-mbstring php-xml php-ldap php-curl fonts-dejavu-core curl)

log() { echo "zabbix.sh: $*" >&2; }

as_postgres() { runuser -u postgres -- "$@"; }
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT_NUM" "$@"; }

ensure_php() {
  local missing=()
  for p in "${PHP_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt_update_once
    # php-cgi first so that "php" is satisfied without pulling in Apache.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
}

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then apt-get update >&2; APT_UPDATED=1; fi
}

ensure_backports_source() {
  local f=/etc/apt/sources.list.d/nzc-bookworm-backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports to apt sources (priority stays low: nothing else upgrades)"
    cat > "$f" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    APT_UPDATED=0
  fi
}

# unpack VERSION SUITE: frontend and SQL into $ROOT/VERSION/pkg
unpack() {
  local ver=$1 suite=$2 dir=$ROOT/$1
  if [ -f "$dir/pkg/usr/share/zabbix/api_jsonrpc.php" ] && [ -f "$dir/pkg/usr/share/zabbix-server-pgsql/schema.sql.gz" ]; then
    return
  fi
  [ "$suite" = bookworm-backports ] && ensure_backports_source
  apt_update_once
  local tmp; tmp=$(mktemp -d)
  chmod 755 "$tmp"; chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && apt-get download "zabbix-frontend-php/$suite" "zabbix-server-pgsql/$suite" >&2)
  local got; got=$(dpkg-deb -f "$tmp"/zabbix-frontend-php_*.deb Version)
  case "$got" in *:"$ver".*) ;; *) log "expected Zabbix $ver from $suite, apt gave $got"; exit 1 ;; esac
  rm -rf "$dir/pkg"; mkdir -p "$dir/pkg"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$dir/pkg"; done
  rm -rf "$tmp"
  # The Debian frontend hard-codes /etc/zabbix/zabbix.conf.php; point this copy at its own
  # config, kept outside the web root so that php -S never serves it.
  sed -i "s|const CONFIG_FILE_PATH = '/etc/zabbix/zabbix.conf.php';|const CONFIG_FILE_PATH = '$dir/zabbix.conf.php';|" \
    "$dir/pkg/usr/share/zabbix/include/classes/core/CConfigFile.php"
  grep -q "$dir/zabbix.conf.php" "$dir/pkg/usr/share/zabbix/include/classes/core/CConfigFile.php"
  echo "$got" > "$dir/package-version"
  log "unpacked Zabbix $got into $dir/pkg"
}

db_exists() {
  [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]
}

ensure_role() {
  psql_admin -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ZBX_DB_USER') THEN
    CREATE ROLE $ZBX_DB_USER LOGIN PASSWORD '$ZBX_DB_PASSWORD';
  END IF;
  -- CREATEDB: tests reset Zabbix by cloning the pristine database.
  ALTER ROLE $ZBX_DB_USER CREATEDB;
END \$\$;
SQL
}

write_config() {
  local dir=$1 db=$2
  cat > "$dir/zabbix.conf.php" <<PHP
<?php
// Written by deploy/dev/zabbix.sh: a local development frontend, not for production.
\$DB['TYPE'] = 'POSTGRESQL';
\$DB['SERVER'] = '$PGHOST_ADDR';
\$DB['PORT'] = '$PGPORT_NUM';
\$DB['DATABASE'] = '$db';
\$DB['USER'] = '$ZBX_DB_USER';
\$DB['PASSWORD'] = '$ZBX_DB_PASSWORD';
\$DB['SCHEMA'] = '';
\$DB['ENCRYPTION'] = false;
\$DB['KEY_FILE'] = '';
\$DB['CERT_FILE'] = '';
\$DB['CA_FILE'] = '';
\$DB['VERIFY_HOST'] = false;
\$DB['CIPHER_LIST'] = '';
\$DB['VAULT'] = '';
\$DB['VAULT_URL'] = '';
\$DB['VAULT_PREFIX'] = '';
\$DB['VAULT_DB_PATH'] = '';
\$DB['VAULT_TOKEN'] = '';
\$DB['VAULT_CERT_FILE'] = '';
\$DB['VAULT_KEY_FILE'] = '';
\$DB['DOUBLE_IEEE754'] = true;
\$ZBX_SERVER = '127.0.0.1';
\$ZBX_SERVER_PORT = '10051';
\$ZBX_SERVER_NAME = 'nzc-dev';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
PHP
}

api() {  # api PORT JSON [TOKEN]: one JSON-RPC call, prints the response
  local hdr=()
  [ -n "${3:-}" ] && hdr=(-H "Authorization: Bearer $3")
  curl -sS --max-time 60 -H 'Content-Type: application/json-rpc' "${hdr[@]}" \
    -d "$2" "http://127.0.0.1:$1/api_jsonrpc.php"
}

api_up() { api "$1" '{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}' 2>/dev/null | grep -q '"result"'; }

start_server() {
  local dir=$1 port=$2
  if api_up "$port"; then return; fi
  if [ -f "$dir/php.pid" ] && kill -0 "$(cat "$dir/php.pid")" 2>/dev/null; then
    kill "$(cat "$dir/php.pid")" || true
  fi
  log "starting php -S 127.0.0.1:$port for $(basename "$dir")"
  PHP_CLI_SERVER_WORKERS=4 setsid nohup php \
    -d memory_limit=512M -d max_execution_time=300 -d date.timezone=UTC -d post_max_size=16M \
    -d display_errors=0 -d log_errors=1 \
    -S "127.0.0.1:$port" -t "$dir/pkg/usr/share/zabbix" >"$dir/php.log" 2>&1 < /dev/null &
  echo $! > "$dir/php.pid"
  for _ in $(seq 1 100); do api_up "$port" && return; sleep 0.1; done
  log "the Zabbix frontend on port $port did not answer; see $dir/php.log"; tail -20 "$dir/php.log" >&2; exit 1
}

json_field() { python3 -c "import json,sys; r=json.load(sys.stdin); print(r['result']$1 if 'result' in r else sys.exit('Zabbix API error: '+json.dumps(r.get('error'))))"; }

make_token() {  # make_token PORT: logs in as Admin and prints a new API token
  local port=$1 sid tokenid login
  # 6.0 takes "user", 6.4+ takes "username".
  login=$(api "$port" '{"jsonrpc":"2.0","method":"user.login","params":{"username":"Admin","password":"zabbix"},"id":1}')
  if ! echo "$login" | grep -q '"result"'; then
    login=$(api "$port" '{"jsonrpc":"2.0","method":"user.login","params":{"user":"Admin","password":"zabbix"},"id":1}')
  fi
  sid=$(echo "$login" | json_field "")
  tokenid=$(api "$port" "{\"jsonrpc\":\"2.0\",\"method\":\"token.create\",\"params\":{\"name\":\"nzc-dev\",\"userid\":\"1\"},\"auth\":\"$sid\",\"id\":2}" | json_field "['tokenids'][0]")
  api "$port" "{\"jsonrpc\":\"2.0\",\"method\":\"token.generate\",\"params\":[\"$tokenid\"],\"auth\":\"$sid\",\"id\":3}" | json_field "[0]['token']"
}

setup_version() {
  local ver=$1 suite=$2 port=$3
  local dir=$ROOT/$ver db="nzc_zabbix${ver//./}"
  mkdir -p "$dir"
  unpack "$ver" "$suite"
  write_config "$dir" "$db"
  if ! db_exists "${db}_pristine" || [ ! -s "$dir/api_token" ]; then
    log "loading the Zabbix $ver schema into $db (about a minute)"
    psql_admin -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${db}_pristine WITH (FORCE)"
    psql_admin -d postgres -c "CREATE DATABASE $db OWNER $ZBX_DB_USER ENCODING 'UTF8' TEMPLATE template0"
    local sql=$dir/pkg/usr/share/zabbix-server-pgsql
    # One transaction for all three files, as the ZABBIX user so that it owns the tables.
    { echo "SET ROLE $ZBX_DB_USER;"; zcat "$sql/schema.sql.gz" "$sql/images.sql.gz" "$sql/data.sql.gz"; } \
      | psql_admin -1 -d "$db" 2>&1 >/dev/null | grep -v "transaction in progress" >&2 || true
    psql_admin -d "$db" -tAc "SELECT 1 FROM users WHERE username = 'Admin'" | grep -q 1
    # Without fresh statistics, template-linking host.create can take minutes.
    psql_admin -d "$db" -c "ANALYZE"
    start_server "$dir" "$port"
    make_token "$port" > "$dir/api_token.new"
    mv "$dir/api_token.new" "$dir/api_token"
    # The pristine copy carries the token, so a reset keeps the same credentials.
    psql_admin -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db'" >/dev/null
    psql_admin -d postgres -c "CREATE DATABASE ${db}_pristine TEMPLATE $db OWNER $ZBX_DB_USER"
  fi
  if ! db_exists "$db"; then
    psql_admin -d postgres -c "CREATE DATABASE $db TEMPLATE ${db}_pristine OWNER $ZBX_DB_USER"
  fi
  start_server "$dir" "$port"
  chmod 600 "$dir/api_token"
  if [ "$QUIET" = 1 ]; then
    echo "Zabbix $ver: http://127.0.0.1:$port/api_jsonrpc.php (token in $dir/api_token)"
  else
    echo "$ver http://127.0.0.1:$port/api_jsonrpc.php $(cat "$dir/api_token")"
  fi
}

main() {
  ensure_php
  mkdir -p "$ROOT"
  ensure_role
  for spec in "${VERSIONS[@]}"; do
    # shellcheck disable=SC2086
    setup_version $spec
  done
}

main "$@"
