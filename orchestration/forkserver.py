"""What the fork server of a launched run imports once, before it forks the run's steps
(orchestration/executor.py): the code location, with its repository and every job already
resolved, so that no step process imports or resolves them again."""

from __future__ import annotations

from orchestration.definitions import defs

repository = defs.get_repository_def()
JOBS = [job.name for job in repository.get_all_jobs()]
