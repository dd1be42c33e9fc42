# Sourced by the Makefile: development defaults for the NZC_* variables that `make` itself
# sets up (the dev Zabbix token). Anything already set in the environment wins.
NZC_ZABBIX_HOME=${NZC_ZABBIX_HOME:-/opt/nzc-zabbix}
export NZC_ZABBIX_HOME
if [ -z "${NZC_ZABBIX_TOKEN:-}" ] && [ -z "${NZC_ZABBIX_USER:-}" ] && [ -s "$NZC_ZABBIX_HOME/7.0/api_token" ]; then
  NZC_ZABBIX_TOKEN=$(cat "$NZC_ZABBIX_HOME/7.0/api_token")
  export NZC_ZABBIX_TOKEN
fi
