"""Copied models in a cohort: the same file, or the same weights in another file.

Two submissions are grouped when their model files are byte-for-byte identical (same
sha256), or when their weights are (:func:`grader.sandbox.weights.fingerprint`: a re-save or
renamed layers do not hide a copy). Groups are reported, never acted on: a grade is never
changed here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from grader.errors import SubmissionError
from grader.instructors.submissions import Submission
from grader.sandbox.files import sha256_regular
from grader.sandbox.weights import fingerprint
from grader.tasks.spec import TaskSpec

SAME_FILE = "identical model files"
SAME_WEIGHTS = "identical weights in different files (re-saved or renamed)"


@dataclass(frozen=True)
class CopyGroup:
    """Students whose models are copies of each other."""

    students: tuple[str, ...]
    """Sorted by name."""
    kind: str
    """:data:`SAME_FILE` or :data:`SAME_WEIGHTS`."""


def find_copies(
    task: TaskSpec, subs: Iterable[Submission], sha256s: Mapping[str, str | None] | None = None
) -> list[CopyGroup]:
    """Groups of two or more submissions sharing a file or its weights, largest first.

    ``sha256s`` (student -> the model's sha256) saves reading a file again when the caller
    has already hashed it; a student missing from it is hashed here.
    """
    groups: dict[tuple[str, str], list[tuple[str, str | None]]] = defaultdict(list)
    for sub in subs:
        if sub.path is None:
            continue
        if sha256s is not None and sub.student in sha256s:
            sha = sha256s[sub.student]
        else:
            sha = sha256_regular(sub.path, max_bytes=task.model.max_bytes)
        try:
            key = (
                "weights",
                fingerprint(
                    sub.path, max_bytes=task.model.max_bytes, max_params=task.model.max_params
                ),
            )
        except SubmissionError:  # not a model the inspector reads: only its bytes can match
            if sha is None:
                continue
            key = ("file", sha)
        groups[key].append((sub.student, sha))
    found = [
        CopyGroup(
            tuple(sorted(student for student, _ in members)),
            SAME_FILE if len({sha for _, sha in members}) == 1 else SAME_WEIGHTS,
        )
        for members in groups.values()
        if len(members) > 1
    ]
    return sorted(found, key=lambda g: (-len(g.students), g.students))


def copied_from(groups: Iterable[CopyGroup]) -> dict[str, tuple[str, ...]]:
    """For each student in a group, the other students in it."""
    return {
        student: tuple(other for other in group.students if other != student)
        for group in groups
        for student in group.students
    }
