"""The words of job records, named once: the statuses a job row can hold, the event-log
levels and the outcomes of a replay (the admin API's schemas validate against them)."""

#: Statuses a job row can hold.
JOB_STATUSES = ("queued", "running", "succeeded", "partial", "failed", "dead", "replayed")
#: Event-log levels.
LEVELS = ("debug", "info", "warning", "error")
#: Outcomes of a replay request, one per job asked for.
REPLAY_OUTCOMES = ("replayed", "would_replay", "already_replayed", "refused")
