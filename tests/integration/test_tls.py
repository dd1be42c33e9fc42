"""HTTPS to Zabbix is verified: the real Zabbix 7.0 served through a TLS proxy of the tests'
own with a self-signed certificate is refused with a message naming the certificate problem
and the variables, and accepted with that certificate as NZC_CA_BUNDLE; NZC_TLS_VERIFY=0
accepts it with a warning on /readyz."""

import ssl
import subprocess

import pytest

from consumer.health import readiness
from consumer.wiring import setup
from handlers.config import TLS_UNVERIFIED, ConfigError, load_config
from handlers.gateways.zabbix import ZabbixGateway, ZabbixUnavailable
from handlers.runtime import set_runtime
from tests.conftest import ZABBIX_VERSIONS, make_env, zabbix_token
from tests.faults import CuttableProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def https_zabbix(tmp_path):
    """Zabbix 7.0's API over HTTPS with a self-signed certificate: (URL, certificate path)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    proxy = CuttableProxy(("127.0.0.1", ZABBIX_VERSIONS["7.0"][0]), tls=context).start()
    yield f"https://127.0.0.1:{proxy.port}/api_jsonrpc.php", cert
    proxy.close()


def gateway(config):
    return ZabbixGateway(config.zabbix_url, token=config.zabbix_token, verify=config.tls_verify)


def test_an_unknown_certificate_is_refused_naming_the_problem_and_the_variables(
    https_zabbix, database_url
):
    url, _cert = https_zabbix
    config = load_config(make_env(database_url, NZC_ZABBIX_URL=url))
    assert config.tls_verify is True
    with pytest.raises(ZabbixUnavailable) as refused:
        gateway(config)
    message = str(refused.value)
    assert "TLS certificate was refused" in message and "CERTIFICATE_VERIFY_FAILED" in message
    assert "NZC_CA_BUNDLE" in message and "NZC_TLS_VERIFY=0" in message


def test_the_certificate_is_accepted_with_its_ca_bundle(https_zabbix, database_url):
    url, cert = https_zabbix
    config = load_config(make_env(database_url, NZC_ZABBIX_URL=url, NZC_CA_BUNDLE=str(cert)))
    assert config.tls_verify == str(cert)
    hosts = gateway(config).call("host.get", {"output": ["hostid"], "limit": 1})
    assert isinstance(hosts, list)
    with pytest.raises(ConfigError, match="NZC_CA_BUNDLE names no readable file"):
        load_config(make_env(database_url, NZC_CA_BUNDLE=str(cert) + ".missing"))


def test_verification_off_works_and_readyz_says_so(https_zabbix, database_url):
    url, _cert = https_zabbix
    for verify, ready, warned in (("1", False, False), ("0", True, True)):
        env = make_env(database_url, NZC_ZABBIX_URL=url, NZC_TLS_VERIFY=verify)
        runtime = setup(load_config(env), stub=True)
        try:
            report, ok = readiness(runtime)
        finally:
            runtime.store.close()
            set_runtime(None)
        assert ok is ready, report
        assert (TLS_UNVERIFIED in report.get("warnings", [])) is warned
        if not ready:
            assert "TLS certificate was refused" in report["checks"]["zabbix"]["error"]
    assert zabbix_token("7.0")  # the dev token is what logged in above
