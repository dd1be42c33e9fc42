"""NetBox's own names that the webhook bodies and the service key on: object types.

One place for them: the webhook schema normalises bodies with them, and
:mod:`handlers.decide.targets` builds targets from them.
"""

DEVICE = "dcim.device"
VM = "virtualization.virtualmachine"
INTERFACE = "dcim.interface"
VM_INTERFACE = "virtualization.vminterface"
IP_ADDRESS = "ipam.ipaddress"
#: Object types that become Zabbix hosts.
HOST_TYPES = (DEVICE, VM)
#: Object types the service acts on; any other is acknowledged and ignored.
HANDLED_OBJECT_TYPES = (DEVICE, VM, INTERFACE, VM_INTERFACE, IP_ADDRESS)
#: The ``model`` names of NetBox < 4.4 webhook bodies, and their ``object_type``.
OBJECT_TYPE_OF_MODEL = {t.split(".")[1]: t for t in HANDLED_OBJECT_TYPES}


#: Short forms an operator may type for a target's object type.
TARGET_ALIASES = {"device": DEVICE, "vm": VM, "virtualmachine": VM}


def parse_target(text: str) -> str:
    """``dcim.device:42`` (or ``device:42``, ``vm:7``) as a canonical target; ValueError with
    what to type instead."""
    kind, _, object_id = text.strip().partition(":")
    kind = TARGET_ALIASES.get(kind, kind)
    if kind not in HOST_TYPES or not object_id.isdigit():
        raise ValueError(
            f"{text!r} is not a target: write OBJECT_TYPE:ID, e.g. {DEVICE}:42 or "
            f"{VM}:7 (short: device:42, vm:7)"
        )
    return f"{kind}:{int(object_id)}"
