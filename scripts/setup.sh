#!/usr/bin/env bash
# Idempotent set-up for a development or CI machine, run by `npm start` and `npm test`:
#  1. npm packages (including Node 24 as the `node` package) when package-lock.json changed;
#  2. the Prisma client (generated offline) when prisma/schema.prisma changed;
#  3. PostgreSQL and Redis on 127.0.0.1 when none answers: started if installed, installed
#     with apt-get (Debian/Ubuntu, as root) if not, otherwise a message saying what is missing;
#  4. the databases `octostage` (npm start) and `test` (npm test);
#  5. with --browser (npm test): Chromium for the dashboard's browser tests.
# Fast when everything is in place (a few hundred milliseconds).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[36m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

command -v npm >/dev/null || die "npm is missing: install Node.js (any version >= 18 with npm); Octostage installs Node 24 itself."

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# 1. npm packages
stamp=node_modules/.octostage-install
want=$(hash_of package.json package-lock.json)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm packages"
  npm install --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
node_bin=node_modules/.bin/node
"$node_bin" -e 'if (+process.versions.node.split(".")[0] < 24) process.exit(1)' \
  || die "node_modules/.bin/node is not Node 24: run 'rm -rf node_modules && npm install'"

# 2. Prisma client
gstamp=src/generated/.schema-hash
gwant=$(hash_of prisma/schema.prisma package-lock.json)
if [ ! -f "$gstamp" ] || [ "$(cat "$gstamp")" != "$gwant" ]; then
  say "generating the Prisma client"
  out=$(bash scripts/prisma-generate.sh 2>&1) || { echo "$out" >&2; die "prisma generate failed"; }
  echo "$gwant" > "$gstamp"
fi

# 3. PostgreSQL and Redis (local defaults only; a remote DATABASE_URL/REDIS_URL is the operator's)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
is_local() { [[ -z "${1:-}" || "$1" == *"@127.0.0.1"* || "$1" == *"@localhost"* || "$1" == *"//127.0.0.1"* || "$1" == *"//localhost"* ]]; }
apt_install() {
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing $* with apt-get"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

if is_local "${DATABASE_URL:-}" && ! port_open 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql || die "PostgreSQL is not running on 127.0.0.1:5432 and cannot be installed here: install PostgreSQL >= 14 (trust auth for user postgres on 127.0.0.1), or set DATABASE_URL."
  fi
  say "starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "could not start PostgreSQL $version (see /var/log/postgresql)"
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 0.5; done
  port_open 5432 || die "PostgreSQL did not come up on 127.0.0.1:5432"
  # Local development trusts local connections, as CI machines do.
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if [ -w "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
fi

if is_local "${REDIS_URL:-}" && ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server \
    || die "Redis is not running on 127.0.0.1:6379 and cannot be installed here: install Redis >= 6, or set REDIS_URL."
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$( [ -w /var/lib/redis ] && echo /var/lib/redis || echo /tmp )" --logfile "" >/dev/null
  for _ in $(seq 1 20); do port_open 6379 && break; sleep 0.25; done
  port_open 6379 || die "Redis did not come up on 127.0.0.1:6379"
fi

# 4. Databases (CREATE DATABASE through node-postgres: psql may not be installed)
if is_local "${DATABASE_URL:-}"; then
  "$node_bin" scripts/ensure-databases.mjs octostage test
fi

# 5. With --browser (npm test): Chromium for the dashboard's browser tests (playwright-core drives it).
if [ "${1:-}" = "--browser" ] && [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium \
    || die "Chromium is missing for the dashboard's browser tests and cannot be installed here: install Debian's chromium package (/usr/bin/chromium), or set CHROMIUM_PATH to a Chromium or Chrome binary."
fi
