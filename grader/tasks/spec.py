"""Task specs: typed, frozen, validated once from ``tasks/<id>/task.toml``, and the registry.

A task folder holds ``task.toml`` (all the grader needs), ``prompt.md``, ``starter.py``
and ``reference.py``. Unknown keys are errors, never silently ignored.
"""

from __future__ import annotations

import difflib
import itertools
import os
import re
import stat
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from grader.errors import SpecError, UnknownTaskError
from grader.tasks.workspace import workspace_root

INPUT_SCALES = ("0-1", "0-255")
METRICS = ("accuracy",)
ON_UNMET = ("cap", "fail", "warn")
"""What an unmet rubric line does to a scored result (docs/task-format.md, ``[rubric]``)."""
CHECKS_FILE = "checks.py"
"""The instructor's pytest checks, in the task folder: ``tasks/<id>/checks.py``."""
_OUTPUT = re.compile(r"([a-z][a-z0-9_]*):([1-9][0-9]*)")
_LAYER_CLASS = re.compile(r"[A-Z][A-Za-z0-9]*")


@dataclass(frozen=True)
class DatasetSpec:
    """Where the held-out data comes from."""

    name: str
    """Key in the dataset registry (``grader.datasets.DATASETS``)."""
    heldout: str
    """Split the grader scores on; the learner trains on the others."""
    heldout_dir: str | None = None
    """Instructor's held-out image class folders (outside the learner's tree) scored
    instead of the ``heldout`` split; relative to the task folder. Relocate it with
    ``$GRADER_HELDOUT_DIR_<TASK ID>``."""
    heldout_sha256: str | None = None
    """Fingerprint of ``heldout_dir``'s decoded arrays; required with it."""


@dataclass(frozen=True)
class ModelContract:
    """What the learner's model must accept and produce."""

    input_shape: tuple[int, ...]
    """Shape of one input, without the batch axis, e.g. ``(28, 28, 1)``."""
    input_scale: str
    """How pixels are fed: ``"0-1"`` floats or raw ``"0-255"``."""
    classes: int
    """Number of classes; a 2-class task also accepts a single sigmoid unit."""
    max_params: int
    """Largest parameter count accepted."""
    max_file_mb: float
    """Largest model file accepted, in MB."""

    @property
    def max_bytes(self) -> int:
        """``max_file_mb`` in bytes."""
        return int(self.max_file_mb * 2**20)


@dataclass(frozen=True)
class GradingSpec:
    """How predictions become a verdict."""

    metric: str
    """Only ``"accuracy"`` today."""
    threshold: float
    """Pass mark, 0..1."""
    score_tiers: tuple[float, ...]
    """Five increasing marks; reaching the k-th earns score k (0..5)."""


@dataclass(frozen=True)
class RubricSpec:
    """``[rubric]``: what the model must be, read from the file statically, and what an unmet
    requirement does. Without the table: no requirement, and a ``checks.py`` only warns."""

    on_unmet: str = "warn"
    """``"cap"`` (score at most ``cap_score``), ``"fail"`` (status fail) or ``"warn"``."""
    cap_score: int | None = None
    """With ``on_unmet = "cap"``: the highest score a model missing a requirement gets."""
    require_layers: tuple[str, ...] = ()
    """Layer classes that must each appear somewhere in the model, e.g. ``("Rescaling",)``."""
    require_any: tuple[tuple[str, ...], ...] = ()
    """Groups of layer classes; at least one class of each group must appear."""
    base_model: str | None = None
    """A pretrained application the model must be built on, e.g. ``"MobileNetV2"``."""
    base_frozen: bool = False
    """The base must be frozen: at least half of its layers saved non-trainable."""
    output: tuple[tuple[str, int], ...] = ()
    """Accepted output heads as (activation, units); any one of them meets the line."""
    max_params: int | None = None
    """A parameter budget stricter than ``model.max_params`` (which refuses outright)."""

    @property
    def requirements(self) -> int:
        """How many declarative lines this rubric yields (checks.py's tests not counted)."""
        return (
            len(self.require_layers)
            + len(self.require_any)
            + (self.base_model is not None)
            + self.base_frozen
            + bool(self.output)
            + (self.max_params is not None)
        )


@dataclass(frozen=True)
class TaskSpec:
    """One task of the catalogue, as read from its ``task.toml``."""

    id: str
    title: str
    category: int
    """1..5; the exam weights a task by its category."""
    time_limit_minutes: int
    version: int
    """Bumped whenever grading changes, so old results stay comparable."""
    dataset: DatasetSpec
    model: ModelContract
    grading: GradingSpec
    folder: Path
    """The task folder (prompt.md, starter.py, reference.py live here)."""
    training_network: bool = False
    """``[training] network = true``: solution.py may download (e.g. pretrained weights)."""
    rubric: RubricSpec = RubricSpec()
    """``[rubric]``: structural requirements and their effect (no requirement when absent)."""
    checks: str | None = None
    """The text of the task's ``checks.py`` (pytest tests), read once when the task loads."""

    @property
    def checks_path(self) -> Path:
        """Where the instructor's checks live; whether the file exists is ``checks``."""
        return self.folder / CHECKS_FILE

    @property
    def prompt_path(self) -> Path:
        """The learner-facing prompt."""
        return self.folder / "prompt.md"

    @property
    def starter_path(self) -> Path:
        """Copied to ``solutions/<id>/solution.py`` by ``grade start``."""
        return self.folder / "starter.py"

    @property
    def reference_path(self) -> Path:
        """The instructor's solution; it must pass."""
        return self.folder / "reference.py"

    @classmethod
    def from_toml(cls, path: Path) -> TaskSpec:
        """Read and validate a ``task.toml``; raise :class:`SpecError` naming file and key."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpecError(path, None, "file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise SpecError(path, None, f"not valid TOML ({err})") from None
        return _build(path, raw)


def _build(path: Path, raw: dict[str, Any]) -> TaskSpec:
    r = _Reader(path, raw, "")
    spec = TaskSpec(
        id=r.string("id"),
        title=r.string("title"),
        category=r.integer("category", low=1, high=5),
        time_limit_minutes=r.integer("time_limit_minutes", low=1, high=24 * 60),
        version=r.integer("version", low=1),
        dataset=_dataset(r.table("dataset")),
        model=_model(r.table("model")),
        grading=_grading(r.table("grading")),
        folder=path.parent,
        training_network=_training_network(r),
        checks=_checks(path.parent),
    )
    rubric = _rubric(r, path, has_checks=spec.checks is not None)
    r.done()
    if spec.id != path.parent.name:
        raise SpecError(path, "id", f"'{spec.id}' must equal the folder name '{path.parent.name}'")
    return replace(spec, rubric=rubric)


def _checks(folder: Path) -> str | None:
    """The text of ``folder/checks.py``; a link is refused, so the file is the task's own."""
    path = folder / CHECKS_FILE
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SpecError(path, None, f"cannot read it ({err.strerror})") from None
    if not stat.S_ISREG(mode):
        raise SpecError(path, None, "must be a regular file in the task folder, not a link")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(path, None, f"cannot read it ({err})") from None


def _rubric(top: _Reader, path: Path, *, has_checks: bool) -> RubricSpec:
    if "rubric" not in top.data:
        return RubricSpec()
    r = top.table("rubric")
    on_unmet = r.choice("on_unmet", ON_UNMET)
    cap_score = None
    if on_unmet == "cap":
        cap_score = r.integer("cap_score", low=0, high=4)
    elif "cap_score" in r.data:
        r.fail("cap_score", f'only applies with on_unmet = "cap" (this task has "{on_unmet}")')
    require_layers = tuple(r.layer_names("require_layers")) if "require_layers" in r.data else ()
    require_any: tuple[tuple[str, ...], ...] = ()
    if "require_any" in r.data:
        groups = r.string_groups("require_any")
        require_any = tuple(tuple(group) for group in groups)
    base_model = r.string("base_model") if "base_model" in r.data else None
    base_frozen = r.boolean("base_frozen") if "base_frozen" in r.data else False
    if base_frozen and base_model is None:
        r.fail("base_frozen", "needs base_model (which base must be frozen?)")
    output: tuple[tuple[str, int], ...] = ()
    if "output" in r.data:
        output = tuple(_output(r, text) for text in r.strings("output"))
    max_params = r.integer("max_params", low=1) if "max_params" in r.data else None
    spec = RubricSpec(
        on_unmet=on_unmet,
        cap_score=cap_score,
        require_layers=require_layers,
        require_any=require_any,
        base_model=base_model,
        base_frozen=base_frozen,
        output=output,
        max_params=max_params,
    )
    r.done()
    if not spec.requirements and not has_checks:
        raise SpecError(
            path, "rubric", f"declares no requirement and the task has no {CHECKS_FILE}"
        )
    return spec


def _output(r: _Reader, text: str) -> tuple[str, int]:
    match = _OUTPUT.fullmatch(text)
    if match is None:
        r.fail("output", f'must be "activation:units" such as "sigmoid:1", got {text!r}')
    return match[1], int(match[2])


def _dataset(r: _Reader) -> DatasetSpec:
    spec = DatasetSpec(name=r.string("name"), heldout=r.string("heldout"))
    if "heldout_dir" in r.data or "heldout_sha256" in r.data:
        digest = r.string("heldout_sha256").lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            r.fail("heldout_sha256", f"must be 64 hex digits, got {digest!r}")
        spec = DatasetSpec(spec.name, spec.heldout, r.string("heldout_dir"), digest)
    r.done()
    return spec


def _training_network(r: _Reader) -> bool:
    if "training" not in r.data:
        return False
    t = r.table("training")
    network = t.boolean("network")
    t.done()
    return network


def _model(r: _Reader) -> ModelContract:
    shape = r.int_list("input_shape")
    if not 1 <= len(shape) <= 4 or any(d < 1 for d in shape):
        r.fail("input_shape", f"must be 1 to 4 positive sizes, got {shape}")
    spec = ModelContract(
        input_shape=tuple(shape),
        input_scale=r.choice("input_scale", INPUT_SCALES),
        classes=r.integer("classes", low=2),
        max_params=r.integer("max_params", low=1),
        max_file_mb=r.number("max_file_mb", low=0.001),
    )
    r.done()
    return spec


def _grading(r: _Reader) -> GradingSpec:
    metric = r.choice("metric", METRICS)
    threshold = r.number("threshold", low=0.0, high=1.0)
    tiers = r.float_list("score_tiers")
    if len(tiers) != 5:
        r.fail("score_tiers", f"needs 5 marks (scores 1..5), got {len(tiers)}")
    if any(not 0.0 <= t <= 1.0 for t in tiers):
        r.fail("score_tiers", f"marks must lie in 0..1, got {tiers}")
    if any(b <= a for a, b in itertools.pairwise(tiers)):
        r.fail("score_tiers", f"marks must strictly increase, got {tiers}")
    if not tiers[0] <= threshold <= tiers[-1]:
        r.fail("threshold", f"{threshold} must lie within score_tiers [{tiers[0]}, {tiers[-1]}]")
    spec = GradingSpec(metric=metric, threshold=threshold, score_tiers=tuple(tiers))
    r.done()
    return spec


class _Reader:
    """Typed access to one TOML table that remembers which keys were read."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str) -> None:
        self.path, self.data, self.prefix = path, table, prefix
        self.seen: set[str] = set()

    def fail(self, key: str, reason: str) -> NoReturn:
        raise SpecError(self.path, self.prefix + key, reason)

    def _get(self, key: str) -> Any:
        self.seen.add(key)
        if key not in self.data:
            self.fail(key, "missing")
        return self.data[key]

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty string, got {value!r}")
        return str(value)

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.string(key)
        if value not in options:
            self.fail(key, f"must be one of {', '.join(options)}; got {value!r}")
        return value

    def integer(self, key: str, *, low: int | None = None, high: int | None = None) -> int:
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, f"must be an integer, got {value!r}")
        self._bounds(key, value, low, high)
        return int(value)

    def number(self, key: str, *, low: float | None = None, high: float | None = None) -> float:
        value = self._get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(key, f"must be a number, got {value!r}")
        self._bounds(key, value, low, high)
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {value!r}")
        return bool(value)

    def int_list(self, key: str) -> list[int]:
        value = self._get(key)
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            self.fail(key, f"must be a list of integers, got {value!r}")
        return [int(v) for v in value]

    def float_list(self, key: str) -> list[float]:
        value = self._get(key)
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            self.fail(key, f"must be a list of numbers, got {value!r}")
        return [float(v) for v in value]

    def strings(self, key: str) -> list[str]:
        """A non-empty string, or a non-empty list of them."""
        value = self._get(key)
        items = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(v, str) and v.strip() for v in items)
        ):
            self.fail(key, f"must be a string or a list of strings, got {value!r}")
        return [str(v) for v in items]

    def layer_names(self, key: str, value: object = None) -> list[str]:
        """A non-empty list of Keras layer class names (``"Rescaling"``)."""
        value = self._get(key) if value is None else value
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and _LAYER_CLASS.fullmatch(v) for v in value)
        ):
            self.fail(
                key, f'must be a list of layer class names such as ["Rescaling"], got {value!r}'
            )
        return [str(v) for v in value]

    def string_groups(self, key: str) -> list[list[str]]:
        """A non-empty list of non-empty lists of layer class names."""
        value = self._get(key)
        if not isinstance(value, list) or not value or not all(isinstance(g, list) for g in value):
            self.fail(
                key,
                f'must be a list of lists such as [["RandomFlip", "RandomZoom"]], got {value!r}',
            )
        return [self.layer_names(key, group) for group in value]

    def table(self, key: str) -> _Reader:
        value = self._get(key)
        if not isinstance(value, dict):
            self.fail(key, f"must be a table [{self.prefix}{key}]")
        return _Reader(self.path, value, f"{self.prefix}{key}.")

    def done(self) -> None:
        """Refuse keys nobody read: a typo must not be silently ignored."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            self.fail(unknown[0], "unknown key (check the spelling against docs/task-format.md)")

    def _bounds(self, key: str, value: float, low: float | None, high: float | None) -> None:
        if low is not None and value < low:
            self.fail(key, f"must be at least {low}, got {value}")
        if high is not None and value > high:
            self.fail(key, f"must be at most {high}, got {value}")


def tasks_dir() -> Path:
    """The catalogue folder: ``$GRADER_TASKS``, else ``tasks/`` of the workspace."""

    env = os.environ.get("GRADER_TASKS")
    return Path(env) if env else workspace_root() / "tasks"


def task_ids(folder: Path | None = None) -> list[str]:
    """Ids of every folder holding a ``task.toml``, sorted."""
    folder = folder or tasks_dir()
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob("*/task.toml"))


def load_task(task_id: str, folder: Path | None = None) -> TaskSpec:
    """The spec for ``task_id``; an unknown id suggests the closest ones."""
    folder = folder or tasks_dir()
    path = folder / task_id / "task.toml"
    if "/" in task_id or "\\" in task_id or task_id.startswith(".") or not path.is_file():
        close = difflib.get_close_matches(task_id, task_ids(folder), n=3, cutoff=0.6)
        raise UnknownTaskError(task_id, close)
    return TaskSpec.from_toml(path)


def load_catalogue(folder: Path | None = None) -> list[TaskSpec]:
    """Every task, sorted by id; the first broken spec raises."""
    folder = folder or tasks_dir()
    return [load_task(i, folder) for i in task_ids(folder)]
