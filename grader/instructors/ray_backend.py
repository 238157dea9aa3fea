"""``grade batch --backend ray``: the same per-submission sandboxed grading, as Ray tasks.

Install with ``pip install 'grader[cluster]'`` on the head and on every node. Each
submission becomes one Ray task that writes the model's bytes into a private folder on
whichever node runs it and calls :func:`grader.instructors.submissions.grade_submission` there,
so every model is still loaded in its own sandboxed child on that node: a child forked from
that Ray worker process's own fork-server, started by its first task and kept for its
lifetime. The grading data travels once through Ray's object store (``ray.put`` of the
:class:`~grader.grading.inputs.GradingData`, the training sample included), so nodes need
neither the submissions folder nor the dataset, only the grader and TensorFlow, and never
reload data per submission.

``address=None`` starts a local Ray runtime with ``workers`` CPUs; ``"auto"`` or
``"ray://head:10001"`` joins an existing cluster.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.errors import GraderError, SubmissionError
from grader.grading.inputs import GradingData
from grader.instructors.fork_pool import ForkPool
from grader.instructors.submissions import Graded, Submission, grade_submission
from grader.result import Result
from grader.sandbox.files import read_regular
from grader.sandbox.process import Limits, private_dir
from grader.tasks.spec import TaskSpec


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise GraderError(
            "--backend ray needs Ray: pip install 'grader[cluster]' (on every node)"
        ) from None
    return ray


_POOL: tuple[str, ForkPool] | None = None
"""This Ray worker process's fork-server, kept for its lifetime (keyed by task and data)."""


def _pool(task: TaskSpec, data: GradingData, limits: Limits, fork_server: bool) -> ForkPool:
    global _POOL
    key = f"{task.id}:{task.version}:{data.sha256}:{fork_server}"
    if _POOL is None or _POOL[0] != key:
        if _POOL is not None:
            _POOL[1].close()
        _POOL = (key, ForkPool(task, data, limits, enabled=fork_server))
        atexit.register(_POOL[1].close)
    return _POOL[1]


def grade_remote(
    task: TaskSpec,
    student: str,
    name: str | None,
    blob: bytes | None,
    problem: str | None,
    data: GradingData,
    limits: Limits,
    fork_server: bool = True,
) -> Any:
    """The body of one Ray task: rebuild the submission on this node and grade it, with this
    worker process's fork-server (started by its first task, kept for its lifetime)."""
    if blob is None or name is None:
        return grade_submission(task, Submission(student, None, problem), data, limits)
    pool = _pool(task, data, limits, fork_server)
    with private_dir() as tmp, pool.lease() as server:
        path = tmp / "work" / Path(name).name
        path.write_bytes(blob)
        result = grade_submission(task, Submission(student, path), data, limits, server)
    return replace(result, notes=[*result.notes, pool.note]) if pool.note else result


def grade_on_ray(
    task: TaskSpec,
    todo: list[Submission],
    data: GradingData,
    limits: Limits,
    workers: int,
    address: str | None,
    fork_server: bool = True,
) -> Iterator[Graded]:
    """Grade ``todo`` as Ray tasks (one CPU each), yielding records as they finish."""
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(grade_remote)
        data_ref = ray.put(data)
        pending: dict[Any, Submission] = {}
        for sub in todo:
            name, blob, problem = None, None, sub.problem
            if sub.path is not None:
                try:
                    name = sub.path.name
                    blob = read_regular(sub.path, max_bytes=task.model.max_bytes)
                except SubmissionError as err:
                    problem = str(err)
            ref = remote.remote(
                task, sub.student, name, blob, problem, data_ref, limits, fork_server
            )
            pending[ref] = sub
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            sub = pending.pop(ready[0])
            yield Graded(sub.student, _fetch(ray, ready[0], task, sub))
    finally:
        if started_here:
            ray.shutdown()


def _fetch(ray: Any, ref: Any, task: TaskSpec, sub: Submission) -> Any:

    try:
        result = ray.get(ref)
    except Exception as err:  # a lost node or task must not stop the batch
        return Result(
            task=task.id,
            task_version=task.version,
            status="error",
            message=f"the Ray task failed: {type(err).__name__}: {str(err)[:200]}",
            threshold=task.grading.threshold,
            model_path=str(sub.path) if sub.path else None,
        )
    assert isinstance(result, Result)
    result_path = str(sub.path) if sub.path else None
    return Result.from_dict({**result.to_dict(), "model_path": result_path})
