"""The Prometheus metrics the handlers keep: jobs, Zabbix API calls, reconcile batches.

Defined once here, on prometheus_client's default registry; whoever changes a value imports
the metric from this module. With ``PROMETHEUS_MULTIPROC_DIR`` set (before prometheus_client
is first imported: the Procfile sets it) every process writes its values to files there, and
the web's ``/metrics`` adds them up (:mod:`consumer.metrics`); without it (tests, the CLI)
they live in the process. Label values are bounded and never carry a secret or an error
text: actor names, outcomes, Zabbix method names.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

#: What became of one job attempt (the ``outcome`` label of :data:`JOBS`).
SUCCEEDED, PARTIAL, FAILED, DEAD, SKIPPED = "succeeded", "partial", "failed", "dead", "skipped"
JOB_OUTCOMES = (SUCCEEDED, PARTIAL, FAILED, DEAD, SKIPPED)

#: Bucket bounds of job durations, seconds: a no-op reconcile to the 10-minute time limit.
JOB_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
#: Bucket bounds of reconcile batch sizes, targets (a run claims 200 by default).
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 200, 500, 1000)

JOBS = Counter(
    "nzc_jobs",
    "Job attempts by actor and outcome: succeeded, partial (some targets failed), failed "
    "(retried later), dead (refused, out of retries or too old: dead-lettered), skipped "
    "(delivered again after its job ended, or too late for its periodic tick).",
    ["actor", "outcome"],
)
JOB_SECONDS = Histogram(
    "nzc_job_duration_seconds",
    "Time one job attempt took in its worker, by actor.",
    ["actor"],
    buckets=JOB_BUCKETS_S,
)
ZABBIX_CALLS = Counter("nzc_zabbix_calls", "Zabbix API calls made, by method.", ["method"])
ZABBIX_ERRORS = Counter(
    "nzc_zabbix_errors",
    "Zabbix API calls that failed (an API error, or no answer), by method.",
    ["method"],
)
RECONCILE_BATCH = Histogram(
    "nzc_reconcile_batch_size",
    "Dirty targets one reconcile run claimed (runs that found nothing are not counted).",
    buckets=BATCH_BUCKETS,
)
CHANGELOG_READS = Counter(
    "nzc_changelog_reads",
    "NetBox requests whose change log was read to learn a bulk edit at once, by outcome: "
    "read, forbidden (the token lacks core.view_objectchange), failed.",
    ["outcome"],
)
