"""Orchestration: each job reads (gateways), decides (``handlers.decide``), writes
(gateways) and records, in that order. Reconcile runs, their coalescing policy, the event
job, host jobs run by hand and system jobs."""
