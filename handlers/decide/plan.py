"""The reconcile planner, a pure function: what was read in, what to do per target out.

Given the NetBox objects (with their IP addresses), the host configs, the mappings, the
settings, the interface types chosen by hand, and what Zabbix has (hosts found by id and
by name, the ids of the names the hosts use), :func:`decide` says for each target:
create, update (with the changes), disable, delete, in step, skipped (why) or refused
(why); and which writes must happen before the batched host calls (host groups to
create, interface-type switches). It does no I/O; :mod:`handlers.jobs.reconcile` reads
before it and writes after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from handlers.decide.desired import (
    NoHostGroup,
    NoPrimaryIP,
    NotMonitorable,
    build_desired,
    group_templates,
    name_candidates,
    owner_tag_name,
    select_mapping,
)
from handlers.decide.diff import describe_differences, diff
from handlers.decide.group_names import expand, with_parents
from handlers.decide.host_state import (
    OWNER_TAG,
    ActualHost,
    DesiredHost,
    Ids,
    kept_host,
    owner_of,
)
from handlers.decide.maintenance import Window, memberships
from handlers.decide.ownership import Owned, mapping_names, with_foreign
from handlers.decide.payloads import interfaces_with_ids
from handlers.decide.targets import split_target, status_of

#: What a plan can say about a target. MISSING: NetBox did not return the object and
#: nothing proves it was deleted, so its host is kept and its host config says so.
CREATE, UPDATE, DISABLE, DELETE, IN_STEP, SKIP, REFUSE, MISSING = (
    "create",
    "update",
    "disable",
    "delete",
    "in_step",
    "skip",
    "refuse",
    "missing",
)
#: Why a missing object's host is kept, for the event log and the host config.
MISSING_REASON = (
    "missing in NetBox, deletion not confirmed: NetBox did not return it and neither a "
    "signed deleted webhook nor NetBox's change log records its deletion; most likely the "
    "NetBox token may not see it (object permissions limited by site, tenant or tag), so "
    "its Zabbix host is kept"
)


@dataclass(frozen=True, kw_only=True)
class Reading:
    """What NetBox and Postgres said about a batch of targets.

    Parameters:
      targets: the targets to decide on.
      objects: target -> ``{"obj": representation, "ips": [...]}`` for those NetBox returned.
      configs: host configs by target.
      settings: the settings row.
      mappings: every mapping rule.
      provisioned: interface types chosen by hand for this run (``nzc provision``).
      deleted: target -> what proves its deletion (a signed deleted webhook, NetBox's change
        log); only targets NetBox did not return lose their hosts by it.
      windows: the maintenance windows hosts can join.
      protected: target -> the active maintenance window (in words) that holds back the
        deletion of its host, unless the ``delete_during_maintenance`` setting is on.
    """

    targets: list[str]
    objects: dict[str, dict[str, Any]]
    configs: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    mappings: list[dict[str, Any]]
    provisioned: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)
    windows: tuple[Window, ...] = ()
    protected: dict[str, str] = field(default_factory=dict)

    @cached_property
    def mapping_names(self) -> tuple[set[str], set[str]]:
        """The host groups and templates the mappings name, once per reading (presumed the
        service's on a host without an ownership record)."""
        return mapping_names(self.mappings)


@dataclass(frozen=True, kw_only=True)
class ZabbixView:
    """What Zabbix has for a batch.

    Parameters:
      ids: name -> id maps of the host groups, templates, proxies and proxy groups named.
      by_id: hosts found by the hostids of the host configs.
      by_name: hosts found by the technical names NetBox wants (and their alternatives).
      by_visible: hosts found by the visible names NetBox wants (and their alternatives).
      owned: target -> the hosts carrying our ownership tag for it (a reconcile run reads
        them for new objects, a full sync for every target): a host of ours is adopted, or
        deleted with evidence, under any name.
      has_proxy_groups, version: what the Zabbix version allows, for refusals in words.
    """

    ids: Ids
    by_id: dict[str, ActualHost]
    by_name: dict[str, ActualHost]
    by_visible: dict[str, ActualHost] = field(default_factory=dict)
    owned: dict[str, tuple[ActualHost, ...]] = field(default_factory=dict)
    has_proxy_groups: bool = True
    version: str = ""


@dataclass(frozen=True, kw_only=True)
class TargetPlan:
    """The decision for one target.

    Parameters:
      target: the NetBox object, ``dcim.device:42``.
      action: one of CREATE, UPDATE, DISABLE, DELETE, IN_STEP, SKIP, REFUSE.
      reason: why (SKIP, REFUSE, DELETE), in words for the event log.
      desired: the host NetBox wants (CREATE, UPDATE, DISABLE, IN_STEP).
      actual: the host Zabbix has (UPDATE, DISABLE, IN_STEP; DELETE when it exists).
      changes: what :func:`~handlers.decide.diff.diff` found (UPDATE, DISABLE).
      mapping_id: the mapping rule that applied.
      config: the host config (DELETE, and wherever one exists).
      note: worth telling an operator, without stopping the run.
      no_primary_ip: the object has no primary IP; the step is the ``no_primary_ip``
        setting's choice for its existing host.
      owned: the host groups and templates the service puts on the host, to record once
        written (CREATE, UPDATE, DISABLE, IN_STEP); None leaves the record as it is.
      windows: the names of the maintenance windows the host belongs in once written (none
        for DELETE); None leaves its windows as they are.
    """

    target: str
    action: str
    reason: str = ""
    desired: DesiredHost | None = None
    actual: ActualHost | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    mapping_id: int | None = None
    config: dict[str, Any] | None = None
    note: str | None = None
    no_primary_ip: bool = False
    owned: Owned | None = None
    windows: frozenset[str] | None = None


@dataclass(frozen=True, kw_only=True)
class InterfaceSwitch:
    """A host losing an interface type (agent to SNMP): Zabbix refuses to drop an interface
    that items use, so the new interfaces are created first and the items that work through
    any interface moved onto the new main one, before the host.update drops the old ones.

    Parameters:
      target, hostid: the host.
      new: the interfaces to create (no ids yet).
      dropped: ids of the interfaces the update drops.
      main: the index in ``new`` of the interface the items move to (the new default one).
    """

    target: str
    hostid: str
    new: tuple[dict[str, Any], ...]
    dropped: tuple[str, ...]
    main: int = 0


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What a run will do, per target, and the writes that come before the batch.

    Parameters:
      settings: the settings the decisions used.
      delete_mode: ``soft`` or ``hard``, for this run's deletes.
      steps: the decision per target.
      ids: the name -> id maps the payloads use.
      groups_to_create: host groups named by desired hosts (or the graveyard) that Zabbix
        lacks.
      switches: interface-type switches to prepare, per target.
      provisioned: interface types chosen by hand, to record in the host configs.
      forget_evidence: deletion evidence that can prove nothing (NetBox returned the object,
        or it has no host to delete), to drop so it never deletes a host later.
      windows: the maintenance windows the steps' ``windows`` name.
    """

    settings: dict[str, Any]
    delete_mode: str
    steps: dict[str, TargetPlan]
    ids: Ids
    groups_to_create: tuple[str, ...] = ()
    switches: dict[str, InterfaceSwitch] = field(default_factory=dict)
    provisioned: dict[str, list[str]] = field(default_factory=dict)
    forget_evidence: tuple[str, ...] = ()
    windows: tuple[Window, ...] = ()

    def of(self, *actions: str) -> list[TargetPlan]:
        """The decisions with one of ``actions``, in target order."""
        return [s for s in self.steps.values() if s.action in actions]

    @property
    def changed(self) -> list[TargetPlan]:
        """Hosts that get a host.update (updates and disables)."""
        return self.of(UPDATE, DISABLE)


@dataclass(frozen=True)
class Lookups:
    """What to read from Zabbix before deciding: hosts by id and by technical name, hosts
    whose ownership tag (``owner_tag``) names a target without a host config (``owners``:
    an object NetBox wants a host for, so that none is made twice, or one proven deleted,
    so that its host goes), and the ids of the host groups and templates the desired hosts
    name, and the proxies and proxy groups they name (a name the ids a process reuses
    lack makes it read them again)."""

    hostids: tuple[str, ...]
    host_names: tuple[str, ...]
    visible_names: tuple[str, ...]
    groups: tuple[str, ...]
    templates: tuple[str, ...]
    owners: tuple[str, ...] = ()
    owner_tag: str = ""
    proxies: tuple[str, ...] = ()
    proxy_groups: tuple[str, ...] = ()


def _removed(reading: Reading, target: str) -> bool:
    """NetBox did not return it, or its status removes its host."""
    entry = reading.objects.get(target)
    return entry is None or status_of(entry["obj"]) in reading.settings["removed_statuses"]


def _removal_reason(reading: Reading, target: str) -> str | None:
    """Why the host of a removed target may be deleted, or None when nothing proves it."""
    entry = reading.objects.get(target)
    if entry is not None:
        return f"its NetBox status {status_of(entry['obj'])!r} removes its host"
    if target in reading.deleted:
        return f"deleted in NetBox ({reading.deleted[target]})"
    return None


def _owned(view: ZabbixView, target: str, settings: dict[str, Any]) -> ActualHost | None:
    """The live host carrying our ownership tag for ``target``: one archived before archives
    lost that tag (in the graveyard group) was ours and stays as it is."""
    graveyard = settings["graveyard_group"]
    return next((h for h in view.owned.get(target, ()) if graveyard not in h.groups), None)


def _desired(reading: Reading, target: str) -> tuple[DesiredHost, dict[str, Any] | None]:
    """The host NetBox wants for a present target, and the mapping that applied; raises
    :class:`NotMonitorable` with the reason."""
    entry = reading.objects[target]
    kind, _ = split_target(target)
    mapping = select_mapping(entry["obj"], kind, reading.mappings)
    config = reading.configs.get(target)
    chosen = reading.provisioned.get(target) or (config or {}).get("interface_types")
    desired = build_desired(
        target, entry["obj"], entry["ips"], mapping, reading.settings, provisioned=chosen
    )
    return desired, mapping


def lookups(reading: Reading) -> Lookups:
    """The Zabbix reads :func:`decide` needs for ``reading``."""
    wanted, names, owners = [], [], []
    for target in reading.targets:
        if _removed(reading, target):
            if target not in reading.configs and target in reading.deleted:
                owners.append(target)  # a host of ours that no host config names goes too
            continue
        try:
            desired = _desired(reading, target)[0]
        except NotMonitorable:
            continue
        wanted.append(desired)
        if target not in reading.configs:
            owners.append(target)
        names += name_candidates(desired, reading.objects[target]["obj"])
    return Lookups(
        hostids=tuple(sorted({c["hostid"] for c in reading.configs.values() if c["hostid"]})),
        host_names=tuple(sorted({host for host, _ in names})),
        visible_names=tuple(sorted({name for _, name in names})),
        groups=tuple(
            sorted(
                set(with_parents(g for d in wanted for g in d.groups))
                | {reading.settings["graveyard_group"]}
            )
        ),
        templates=tuple(sorted({t for d in wanted for t in d.templates})),
        owners=tuple(sorted(owners)),
        owner_tag=owner_tag_name(reading.settings),
        proxies=tuple(sorted({d.proxy for d in wanted if d.proxy})),
        proxy_groups=tuple(sorted({d.proxy_group for d in wanted if d.proxy_group})),
    )


def _missing_name(desired: DesiredHost, view: ZabbixView) -> str | None:
    """Why the host cannot be written: a template, proxy or proxy group Zabbix lacks."""
    missing = [t for t in desired.templates if t not in view.ids.templates]
    if missing:
        return (
            f"template {missing[0]!r} does not exist in Zabbix: import it, or change the "
            "mapping or the object's zabbix_templates override"
        )
    if desired.proxy and desired.proxy not in view.ids.proxies:
        return f"proxy {desired.proxy!r} does not exist in Zabbix"
    if desired.proxy_group and desired.proxy_group not in view.ids.proxy_groups:
        return f"proxy group {desired.proxy_group!r} does not exist in Zabbix" + (
            "" if view.has_proxy_groups else f" ({view.version} has no proxy groups)"
        )
    return None


@dataclass
class _Claims:
    """Names given to hosts earlier in this plan: two objects of one batch must not both
    take a name (technical or visible) Zabbix lacks."""

    hosts: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def holder(self, host: str, name: str, target: str) -> str | None:
        other = self.hosts.get(host) or self.names.get(name)
        return other if other and other != target else None

    def take(self, step: TargetPlan) -> None:
        if step.desired is not None and step.action != REFUSE:
            self.hosts[step.desired.host] = step.target
            self.names[step.desired.name] = step.target


def _decide_one(
    reading: Reading, view: ZabbixView, target: str, claims: _Claims | None = None
) -> TargetPlan:
    settings = reading.settings
    config = reading.configs.get(target)
    owned = _owned(view, target, settings)
    if _removed(reading, target):
        if config is None and (orphan := owned):
            # A host of ours that no host config names (its config was lost): the same
            # evidence rule applies to it.
            config = {"target": target, "hostid": orphan.hostid, "host": orphan.host}
            config |= {"name": orphan.name, "mapping_id": None}
        if config is None:
            return TargetPlan(
                target=target,
                action=SKIP,
                reason="not in NetBox (or removed) and not in Zabbix: nothing to do",
            )
        reason = _removal_reason(reading, target)
        actual = view.by_id.get(config["hostid"])
        window = reading.protected.get(target)
        if reason and actual and window and not settings["delete_during_maintenance"]:
            return _held_back(reading, target, config, actual, f"{reason}; held back by {window}")
        return TargetPlan(
            target=target,
            action=DELETE if reason else MISSING,
            reason=reason or MISSING_REASON,
            actual=actual,
            config=config,
            windows=frozenset() if reason else None,
        )
    try:
        desired, mapping = _desired(reading, target)
    except NoPrimaryIP as exc:
        return _without_primary_ip(reading, view, target, exc)
    except NoHostGroup as exc:  # a misconfiguration to fix, not an object to leave alone
        return TargetPlan(target=target, action=REFUSE, reason=str(exc), config=config)
    except NotMonitorable as exc:
        return TargetPlan(target=target, action=SKIP, reason=f"not monitored: {exc}", config=config)
    mapping_id = mapping["id"] if mapping else None
    problem = _missing_name(desired, view)
    if problem:
        return TargetPlan(target=target, action=REFUSE, reason=problem, config=config)
    actual = view.by_id.get(config["hostid"]) if config else None
    obj = reading.objects[target]["obj"]
    notes = list(expand(group_templates(obj, mapping), obj).dropped)
    if actual is None:
        if config:
            notes.append(
                f"its host config names Zabbix host {config['hostid']}, which is gone "
                "(deleted by hand?)"
            )
        # A host of ours for this object, under any name it may have: adopted and brought
        # in line (its host config was lost, or the run that made it could not record it).
        actual = next(
            (
                h
                for host, name in name_candidates(desired, reading.objects[target]["obj"])
                for h in (view.by_name.get(host), view.by_visible.get(name))
                if h is not None and owner_of(h, settings["tag_prefix"]) == target
            ),
            owned,
        )
    prefix = settings["tag_prefix"]
    foreign = view.by_name.get(desired.host)
    if actual is None and foreign is not None and owner_of(foreign, prefix) is None:
        return TargetPlan(
            target=target,
            action=REFUSE,
            reason=(
                f"a Zabbix host named {desired.host!r} already exists and is not ours "
                f"(no {prefix}{OWNER_TAG} tag): adopt it, keeping its history, with "
                f"`nzc import hosts {target}`, or rename one of them"
            ),
            config=config,
            note="; ".join(notes) or None,
        )
    claims = claims or _Claims()
    named = _free_names(view, claims, desired, reading.objects[target]["obj"], actual, prefix)
    if isinstance(named, str):
        return TargetPlan(target=target, action=REFUSE, reason=named, config=config)
    if (named.host, named.name) != (desired.host, desired.name):
        notes.append(
            f"the name {desired.name!r} is taken by {_holders(view, claims, desired, prefix)}"
            f": this host is named {named.host!r} (visible name {named.name!r}), by the rule "
            "name, then name and site slug, then name, site slug and object id"
        )
    desired, ours = with_foreign(named, actual, config, settings, reading.mapping_names)
    note = "; ".join(notes) or None
    common = {
        "target": target,
        "desired": desired,
        "mapping_id": mapping_id,
        "config": config,
        "owned": ours,
    }
    if actual is None:
        return TargetPlan(action=CREATE, note=note, **common)
    changes = diff(desired, actual, settings)
    if not changes:
        return TargetPlan(action=IN_STEP, actual=actual, note=note, **common)
    action = DISABLE if changes.get("status") == 1 else UPDATE
    return TargetPlan(action=action, actual=actual, changes=changes, note=note, **common)


def _taken(view: ZabbixView, host: str, name: str, me: ActualHost | None) -> list[ActualHost]:
    """The Zabbix hosts, other than ``me``, holding technical name ``host`` or visible name
    ``name``."""
    return [
        h
        for h in {
            id(h): h for h in (view.by_name.get(host), view.by_visible.get(name)) if h
        }.values()
        if me is None or h.hostid != me.hostid
    ]


def _holders(view: ZabbixView, claims: _Claims, desired: DesiredHost, prefix: str) -> str:
    """Who holds ``desired``'s names, in words."""
    held = [
        f"Zabbix host {h.host!r}"
        + (f" (ours, for {owner})" if (owner := owner_of(h, prefix)) else " (not ours)")
        for h in _taken(view, desired.host, desired.name, None)
    ]
    if other := claims.holder(desired.host, desired.name, desired.target):
        held.append(f"the host this run makes for {other}")
    return ", ".join(held)


def _free_names(
    view: ZabbixView,
    claims: _Claims,
    desired: DesiredHost,
    obj: dict[str, Any],
    actual: ActualHost | None,
    prefix: str,
) -> DesiredHost | str:
    """``desired`` with the first (technical, visible) names of
    :func:`~handlers.decide.desired.name_candidates` that no other host holds (so a host
    goes back to its NetBox name once that is free again); or why there is none."""
    candidates = name_candidates(desired, obj)
    for host, name in candidates:
        if not _taken(view, host, name, actual) and not claims.holder(host, name, desired.target):
            return replace(desired, host=host, name=name)
    return (
        f"every name this host may take is held by another host "
        f"({', '.join(h for h, _ in candidates)}): {_holders(view, claims, desired, prefix)}"
    )


def _held_back(
    reading: Reading, target: str, config: dict[str, Any], actual: ActualHost, why: str
) -> TargetPlan:
    """A deletion held back while a maintenance window lasts: the host is disabled and
    stays in its windows; the window's end marks the target for the delete."""
    desired = kept_host(actual, target, status=1)
    changes = diff(desired, actual, reading.settings)
    return TargetPlan(
        target=target,
        action=DISABLE if changes else IN_STEP,
        reason=why,
        desired=desired,
        actual=actual,
        changes=changes,
        config=config,
        mapping_id=config["mapping_id"],
        note=f"not deleted yet: {why}",
    )


def _in_windows(reading: Reading, step: TargetPlan) -> TargetPlan:
    """``step`` with the maintenance windows its host belongs in, for hosts NetBox
    describes (a host kept as it is, held back or without a primary IP, keeps its own)."""
    entry = reading.objects.get(step.target)
    if (
        not reading.windows  # no window to join: no maintenance write, no lock
        or step.action not in (CREATE, UPDATE, DISABLE, IN_STEP)
        or entry is None
        or step.no_primary_ip
        or step.target in reading.protected
        and _removed(reading, step.target)
    ):
        return step
    return replace(
        step, windows=memberships(reading.windows, step.target, entry["obj"], step.desired)
    )


def _without_primary_ip(
    reading: Reading, view: ZabbixView, target: str, exc: NoPrimaryIP
) -> TargetPlan:
    """An object without a primary IP: no host is created for it; its existing host is
    disabled and keeps its last interface (``no_primary_ip`` = ``disable``, the default),
    is left as it is (``keep``), or deleted (``delete``); never deleted by default."""
    config = reading.configs.get(target)
    actual = view.by_id.get(config["hostid"]) if config else None
    if actual is None:
        return TargetPlan(target=target, action=SKIP, reason=f"not monitored: {exc}", config=config)
    policy = reading.settings["no_primary_ip"]
    common = {
        "target": target,
        "reason": f"it has no primary IP address (no_primary_ip={policy})",
        "actual": actual,
        "config": config,
        "mapping_id": config["mapping_id"],
        "no_primary_ip": True,
    }
    if policy == "delete":
        window = reading.protected.get(target)
        if window and not reading.settings["delete_during_maintenance"]:
            why = f"{common['reason']}; held back by {window}"
            return replace(_held_back(reading, target, config, actual, why), no_primary_ip=True)
        return TargetPlan(action=DELETE, windows=frozenset(), **common)
    desired = kept_host(actual, target, **({"status": 1} if policy == "disable" else {}))
    changes = diff(desired, actual, reading.settings)
    return TargetPlan(
        action=DISABLE if changes else IN_STEP, desired=desired, changes=changes, **common
    )


def _switch(step: TargetPlan) -> InterfaceSwitch | None:
    """The interface switch an update needs: a type goes and a new one comes."""
    if "interfaces" not in step.changes:
        return None
    items = interfaces_with_ids(step.desired.interfaces, step.actual.interfaces)
    kept = {i["interfaceid"] for i in items if "interfaceid" in i}
    dropped = tuple(
        i["interfaceid"] for i in step.actual.interfaces if i["interfaceid"] not in kept
    )
    new = tuple(i for i in items if "interfaceid" not in i)
    if not dropped or not new:
        return None
    main = next((n for n, i in enumerate(new) if int(i.get("main", 0)) == 1), 0)
    return InterfaceSwitch(
        target=step.target, hostid=step.actual.hostid, new=new, dropped=dropped, main=main
    )


def decide(reading: Reading, view: ZabbixView, *, delete_mode: str | None = None) -> Plan:
    """The plan for ``reading`` against ``view``: a decision per target, the host groups to
    create and the interface switches to prepare. ``delete_mode`` overrides the setting."""
    claims = _Claims()
    steps = {}
    for target in sorted(set(reading.targets)):
        steps[target] = _in_windows(reading, _decide_one(reading, view, target, claims))
        claims.take(steps[target])
    mode = delete_mode or reading.settings["delete_mode"]
    # Only the writes that send groups need them: creates, and updates that change groups.
    wanted_groups = {
        g
        for s in steps.values()
        if s.action == CREATE or (s.action in (UPDATE, DISABLE) and "groups" in s.changes)
        for g in (s.owned or s.desired).groups  # groups kept on a host exist already
    }
    if mode == "soft" and any(s.action == DELETE and s.actual for s in steps.values()):
        wanted_groups.add(reading.settings["graveyard_group"])
    switches = {
        s.target: switch
        for s in steps.values()
        if s.action in (UPDATE, DISABLE) and (switch := _switch(s))
    }
    return Plan(
        settings=reading.settings,
        delete_mode=mode,
        steps=steps,
        ids=view.ids,
        # Parents first, each level before the next: see with_parents.
        groups_to_create=tuple(g for g in with_parents(wanted_groups) if g not in view.ids.groups),
        switches=switches,
        provisioned=reading.provisioned,
        windows=reading.windows,
        forget_evidence=tuple(
            sorted(
                t
                for t in reading.deleted
                if t in reading.objects
                or (t not in reading.configs and not _owned(view, t, reading.settings))
            )
        ),
    )


def delete_plan(
    target: str,
    config: dict[str, Any],
    actual: ActualHost | None,
    ids: Ids,
    settings: dict[str, Any],
    delete_mode: str | None = None,
) -> Plan:
    """The plan of a delete run by hand: this target's host goes, whatever NetBox says."""
    mode = delete_mode or settings["delete_mode"]
    graveyard = settings["graveyard_group"]
    return Plan(
        settings=settings,
        delete_mode=mode,
        steps={
            target: TargetPlan(
                target=target,
                action=DELETE,
                reason="deleted by hand",
                actual=actual,
                config=config,
                windows=frozenset(),  # out of its maintenance windows first
            )
        },
        ids=ids,
        groups_to_create=(graveyard,)
        if mode == "soft" and actual and graveyard not in ids.groups
        else (),
    )


def problems(plan: Plan) -> dict[str, list[str]]:
    """Per target, what differs between NetBox, the host config and Zabbix, as sentences."""
    problems: dict[str, list[str]] = {}
    for step in plan.steps.values():
        config = step.config
        if step.action == CREATE:
            found = [step.note or "NetBox wants a Zabbix host for it and there is none"]
        elif step.action in (UPDATE, DISABLE):
            found = describe_differences(step.desired, step.actual, step.changes, plan.settings)
        elif step.action == DELETE:
            found = [
                f"{step.reason}, but its Zabbix host {config['host']!r} is still there"
                if step.actual
                else f"{step.reason}; its Zabbix host is gone, but its host config remains"
            ]
        elif step.action == MISSING:
            found = [step.reason]
        elif step.action in (SKIP, REFUSE):
            found = [
                f"{step.reason}; yet its host config and Zabbix host {config['host']!r} remain"
                if config
                else step.reason
            ]
        else:
            continue
        problems[step.target] = found
    return dict(sorted(problems.items()))
