"""GitHub Classroom (GitHub Actions): a workflow that grades a task on every push.

``grade classroom TASK`` writes ``.github/workflows/grade.yml``: it installs the grader as
pinned for the Gradescope autograder (:func:`grader.instructors.gradescope.requirements`),
caching pip's downloads and the task's dataset between runs, runs ``grade TASK --json`` on
the student's committed model, writes the verdict, score and per-class table into the job
summary, prints ``Points <score>/5`` and exits with the grade's exit code (so the commit
shows a red cross until the task passes).
"""

from __future__ import annotations

import textwrap
from importlib import metadata, resources
from pathlib import Path

from grader.atomic import replacing
from grader.errors import WorkspaceError
from grader.instructors.gradescope import requirements
from grader.tasks.spec import TaskSpec

DEFAULT_OUT = Path(".github/workflows/grade.yml")
RESULT_FILE = "grade-result.json"

_SUMMARY = """\
import json, os
r = json.load(open("{result}"))
lines = [f"## {{r['task']}}: {{r['status'].upper()}} {{r['score']}}/5", "", r["message"], ""]
if r.get("per_class"):
    lines += ["| class | accuracy | images |", "| --- | --- | --- |"]
    for c in sorted(r["per_class"], key=lambda c: c["accuracy"]):
        lines.append(f"| {{c['name']}} | {{c['accuracy']:.2%}} | {{c['support']}} |")
lines += [f"- hint: {{h}}" for h in r.get("hints", [])]
lines += [f"- rubric: {{x['name']}}: {{'met' if x['met'] else 'NOT met'}} ({{x['reason']}})"
          for x in r.get("rubric", [])]
summary = os.environ.get("GITHUB_STEP_SUMMARY")
if summary:
    with open(summary, "a", encoding="utf-8") as f:
        f.write("\\n".join(lines) + "\\n")
print(f"Points {{r['score']}}/5")
"""


def grade_script(task_id: str) -> str:
    """The shell script of the workflow's grading step: grade, summarise, keep the exit code."""
    summary = _SUMMARY.format(result=RESULT_FILE)
    return (
        "set +e\n"
        f"grade {task_id} --json > {RESULT_FILE}\n"
        "code=$?\n"
        "python - <<'PY'\n"
        f"{summary}"
        "PY\n"
        "exit $code\n"
    )


def workflow(task: TaskSpec) -> str:
    """The workflow file's text for ``task``."""
    template = resources.files("grader.instructors") / "templates" / "classroom.yml.tmpl"
    return template.read_text(encoding="utf-8").format(
        task=task.id,
        dataset=task.dataset.name,
        grader_version=metadata.version("grader"),
        requirements=" ".join(f'"{p}"' for p in requirements()),
        grade_script=textwrap.indent(grade_script(task.id), " " * 10),
    )


def write_workflow(task: TaskSpec, out: Path = DEFAULT_OUT) -> Path:
    """Write the workflow for ``task`` to ``out`` (folders created); return ``out``."""
    try:
        with replacing(out) as tmp:
            tmp.write_text(workflow(task), encoding="utf-8")
    except OSError as err:
        raise WorkspaceError(f"cannot write the workflow to {out}: {err.strerror}") from None
    return out
