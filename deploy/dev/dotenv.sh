#!/bin/bash
# Writes .env in the project folder: the development settings `make` chose (see env.sh), so
# that `nzc`, the simulator's command line and deploy/dev/replay_webhooks.py work from a new
# shell with nothing set by hand. Variables set in the environment still win. Run by `make`
# with env.sh sourced; .env is git-ignored and rewritten each time (the admin token kept).
set -euo pipefail
umask 077  # tokens: readable by their owner only, from the first byte
cd "$(dirname "$0")/../.."
admin=$(sed -n 's/^NZC_ADMIN_TOKEN=//p' .env 2>/dev/null | tail -n 1 || true)
if [ -z "$admin" ]; then
  admin=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
fi
{
  echo "# Written by make (deploy/dev/dotenv.sh): the development settings it chose. Read by"
  echo "# nzc (variables set in the environment win) and by honcho in make run. Rewritten by"
  echo "# make; set your own values in the environment instead."
  for name in $(printf '%s\n' ${NZC_DEV_CHOSEN:-} | sort -u); do
    echo "$name=${!name}"
  done
  # The admin API's bearer token in development (the admin API is off without one).
  if [ -z "${NZC_ADMIN_TOKEN:-}" ]; then
    echo "NZC_ADMIN_TOKEN=$admin"
  fi
} > .env.tmp
mv .env.tmp .env
