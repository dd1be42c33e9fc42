"""What a full sync does with a plan of every target, as pure functions: which targets to
mark dirty (and why), each host config's sync state, the safety limit on deletions, and
the plan in words for ``nzc sync now --dry-run``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.decide.plan import (
    CREATE,
    DELETE,
    DISABLE,
    IN_STEP,
    MISSING,
    REFUSE,
    UPDATE,
    Plan,
    TargetPlan,
    problems,
)

#: Actions a reconcile run must carry out (or try again, for refusals).
TO_RECONCILE = (CREATE, UPDATE, DISABLE, DELETE, REFUSE)


def _config_behind(step: TargetPlan) -> str | None:
    """Why a host in step still needs a run: its host config is absent, names another
    host, or says it is missing or out of sync."""
    config = step.config
    if config is None:
        return "its Zabbix host is ours but no host config names it"
    if config["hostid"] != step.actual.hostid or (config["host"], config["name"]) != (
        step.desired.host,
        step.desired.name,
    ):
        return "its host config names another host or name"
    if config.get("missing_since"):
        return "NetBox returns it again: its host config no longer says missing"
    return None


@dataclass(frozen=True)
class SyncMarks:
    """What a sync marks dirty, and the deletions it holds back.

    Parameters:
      reasons: target -> why a reconcile run must look at it.
      deletions: targets whose Zabbix host would be deleted.
      held: why the deletions were held back (past the limit), or None.
    """

    reasons: dict[str, str]
    deletions: tuple[str, ...]
    held: str | None = None


def marks(
    plan: Plan,
    limit: int,
    *,
    allowed: int | None = None,
    failures: dict[str, str] | None = None,
) -> SyncMarks:
    """The targets of ``plan`` to mark dirty. ``failures`` (target -> the error of its last
    failed run) are marked again, so a run retries them or clears them, unless the plan
    refuses them for the same reason again. Deletions of hosts that exist count against
    ``limit`` (``max_deletions``), or ``allowed`` when given (``--allow-deletions``): past
    it, none of them is marked and ``held`` says why and how to proceed."""
    failures = failures or {}
    reasons: dict[str, str] = {}
    for step in plan.steps.values():
        if step.action == REFUSE and failures.get(step.target) == step.reason:
            continue  # refused already, and nothing changed its reason
        if step.action in TO_RECONCILE:
            reasons[step.target] = f"full sync: {step.action}"
        elif step.action == IN_STEP and (why := _config_behind(step)):
            reasons[step.target] = f"full sync: {why}"
        elif step.target in failures:
            reasons[step.target] = "full sync: its last run failed"
    deletions = tuple(s.target for s in plan.of(DELETE) if s.actual is not None)
    cap = limit if allowed is None else allowed
    if len(deletions) <= cap:
        return SyncMarks(reasons, deletions)
    for target in deletions:
        del reasons[target]
    held = (
        f"the sync would delete {len(deletions)} Zabbix hosts, more than "
        + (f"--allow-deletions ({allowed})" if allowed is not None else f"max_deletions ({limit})")
        + "; none was deleted, the other differences are being repaired. If NetBox really "
        f"lost them, run `nzc sync now --allow-deletions {len(deletions)}` (or raise the "
        "limit: `nzc settings set max_deletions N`)"
    )
    return SyncMarks(reasons, deletions, held)


def sync_states(plan: Plan, configs: dict[str, Any]) -> dict[str, list[str]]:
    """For each host config in ``plan``: the differences found, in words (none: in sync).
    Missing targets are left to :func:`~handlers.gateways.host_configs.mark_missing`."""
    found = problems(plan)
    states = {}
    for target, step in plan.steps.items():
        if target not in configs or step.action == MISSING:
            continue
        behind = _config_behind(step) if step.action == IN_STEP else None
        states[target] = found.get(target, []) + ([behind] if behind else [])
    return states


def describe(plan: Plan, reasons: dict[str, str]) -> list[str]:
    """The plan in words, a line per target a sync would act on (``--dry-run``)."""
    found = problems(plan)
    lines = []
    for target in sorted(reasons):
        step = plan.steps[target]
        name = step.desired.host if step.desired else (step.config or {}).get("host")
        lines.append(f"{step.action:8} {target}" + (f" {name!r}" if name else ""))
        lines += [f"    {p}" for p in found.get(target, [reasons[target]])]
    return lines


def config_state(config: dict[str, Any]) -> str:
    """The sync state of a host config row (:data:`schemas.admin.HOST_STATES`): ``missing``
    when NetBox stopped returning its object without a recorded deletion, else whether it
    was in sync when last checked."""
    if config["missing_since"]:
        return "missing"
    return "in sync" if config["in_sync"] else "differs"
