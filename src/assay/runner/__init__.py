"""Run a job's test cases with pytest in the sandbox and stream per-item results.

No database or API imports: Celery workers run this with no credentials.
"""

from assay.runner.collect import Collected, CollectionError, CollectionIssue, collect_tests
from assay.runner.job import run_job
from assay.runner.models import ItemFinished, ItemStarted, Job, JobItem, JobOutcome, job_for

__all__ = [
    "Collected",
    "CollectionError",
    "CollectionIssue",
    "ItemFinished",
    "ItemStarted",
    "Job",
    "JobItem",
    "JobOutcome",
    "collect_tests",
    "job_for",
    "run_job",
]
