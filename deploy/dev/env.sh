# Sourced by the Makefile: development defaults for the NZC_* variables that `make` itself
# sets up (the dev Zabbix token, the NetBox simulator). Anything already set in the
# environment wins. NZC_DEV_CHOSEN lists what was chosen here, for deploy/dev/dotenv.sh;
# it adds up, so a shell that sourced this before still names what it chose then.
NZC_DEV_CHOSEN=${NZC_DEV_CHOSEN:-}
NZC_ZABBIX_HOME=${NZC_ZABBIX_HOME:-/opt/nzc-zabbix}
export NZC_ZABBIX_HOME
if [ -z "${NZC_ZABBIX_TOKEN:-}" ] && [ -z "${NZC_ZABBIX_USER:-}" ] && [ -s "$NZC_ZABBIX_HOME/7.0/api_token" ]; then
  NZC_ZABBIX_TOKEN=$(cat "$NZC_ZABBIX_HOME/7.0/api_token")
  export NZC_ZABBIX_TOKEN
  NZC_DEV_CHOSEN="$NZC_DEV_CHOSEN NZC_ZABBIX_TOKEN"
fi
# No NetBox named: the demo runs the NetBox simulator (not NetBox) on 127.0.0.1:8001 and
# points the service and the simulator's webhooks at each other.
if [ -z "${NZC_NETBOX_URL:-}" ]; then
  export NZC_DEMO_SIMULATOR=1
  export NZC_NETBOX_URL=http://127.0.0.1:8001
  NZC_DEV_CHOSEN="$NZC_DEV_CHOSEN NZC_NETBOX_URL"
  if [ -z "${NZC_NETBOX_TOKEN:-}" ]; then
    export NZC_NETBOX_TOKEN=0123456789abcdef0123456789abcdef01234567
    NZC_DEV_CHOSEN="$NZC_DEV_CHOSEN NZC_NETBOX_TOKEN"
  fi
  if [ -z "${NZC_WEBHOOK_SECRET:-}" ]; then
    export NZC_WEBHOOK_SECRET=nzc-demo-secret
    NZC_DEV_CHOSEN="$NZC_DEV_CHOSEN NZC_WEBHOOK_SECRET"
  fi
fi
export NZC_DEV_CHOSEN
