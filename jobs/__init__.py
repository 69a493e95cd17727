"""Scheduled jobs: inbox, DB pulls and the alerting/report jobs, run by APScheduler 3.

``orderwatch worker`` runs a blocking scheduler; ``orderwatch serve`` may also run one in each
web worker (``jobs.in_serve``).  However many schedulers run, a lease row per job
(``job_leases``) lets exactly one process run a given job at a time; ``job_state`` keeps each
job's last run, summary and error, and small durable state such as a pull's watermark.

Modules: ``lease`` (the one-runner lease), ``state`` (JobState read/merge), ``registry``
(job names -> functions, ``run_job``), ``scheduler`` (APScheduler setup and the persistent job
store), ``inbox`` (drop folder), ``pull`` (incremental ingest from an order database),
``cli`` (``orderwatch worker`` and ``orderwatch jobs``).
"""
