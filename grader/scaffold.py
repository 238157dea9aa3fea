"""``grade new``: scaffold ``tasks/<id>/`` so that adding a task is a five-minute job.

The folder gets a task.toml with every field documented, a prompt.md that states the input
contract, a starter.py that trains nothing (so it fails), and a reference.py for the
instructor to fill in; ``grade validate <id>`` then proves the task before it is committed.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.errors import WorkspaceError
from grader.tasks import tasks_dir

_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_KNOWN_SHAPES = {"fashion_mnist": [28, 28, 1], "mnist": [28, 28, 1], "cifar10": [32, 32, 3]}
_DEFAULT_SHAPE = [28, 28, 1]


def new_task(
    task_id: str,
    *,
    dataset: str = "fashion_mnist",
    classes: int | None = None,
    title: str | None = None,
    folder: Path | None = None,
) -> tuple[Path, list[str]]:
    """Write ``tasks/<task_id>/``; return the folder and notes for the instructor."""
    if not _ID.fullmatch(task_id):
        raise WorkspaceError(
            f"'{task_id}' is not a task id: use 2-32 lowercase letters, digits or _, "
            "starting with a letter (e.g. task07)"
        )
    target = (folder or tasks_dir()) / task_id
    if target.exists():
        raise WorkspaceError(f"{target} already exists; pick another id or edit that task")
    notes: list[str] = []
    shape, found = _dataset_facts(dataset, notes)
    if classes is None:
        classes = found or 10
        if found is None:
            notes.append(f"--classes not given; wrote {classes}, check [model].classes")
    if classes < 2:
        raise WorkspaceError(f"--classes must be at least 2, got {classes}")
    values = {
        "id": task_id,
        "title": title or f"{dataset}: a {classes}-class classifier",
        "dataset": dataset,
        "shape": ", ".join(str(d) for d in shape),
        "classes": classes,
    }
    target.mkdir(parents=True)
    for name, template in _FILES.items():
        (target / name).write_text(template.format(**values), encoding="utf-8")
    return target, notes


def _dataset_facts(name: str, notes: list[str]) -> tuple[list[int], int | None]:
    """Image shape and class count of a registered dataset, else sensible defaults + a note."""
    from grader import datasets
    from grader.errors import DatasetError

    try:
        heldout = datasets.load(name, "test")
    except DatasetError as err:
        shape = _KNOWN_SHAPES.get(name, _DEFAULT_SHAPE)
        notes.append(
            f"could not read dataset '{name}' ({err}); wrote input_shape {shape}, "
            "check [model] before validating"
        )
        return shape, None
    dims = [int(d) for d in heldout.images.shape[1:]]
    shape = dims if len(dims) == 3 else [*dims, 1]
    return shape, len(heldout.class_names)


_TASK_TOML = """\
# {id}: every field is read by the grader; unknown keys are errors (see DESIGN.md).
id = "{id}"                   # must equal the folder name
title = "{title}"             # one line, shown by `grade list`
category = 1                  # 1..5; the exam weights a task by its category
time_limit_minutes = 60       # the learner's clock, and the wall limit for --train
version = 1                   # bump whenever grading changes, so old results stay comparable

[dataset]
name = "{dataset}"            # key in the dataset registry (grader.datasets.DATASETS)
heldout = "test"              # the split the grader scores on; learners train on "train"

[model]
input_shape = [{shape}]       # one input without the batch axis, channels last
input_scale = "0-1"           # how the grader feeds pixels: "0-1" (divided by 255) or "0-255"
classes = {classes}           # output units; a 2-class task also accepts one sigmoid unit
max_params = 5_000_000        # larger models are refused before loading
max_file_mb = 50              # larger model files are refused before loading

[grading]
metric = "accuracy"           # the only metric today
threshold = 0.80              # pass mark, 0..1; must lie within score_tiers
score_tiers = [0.60, 0.70, 0.75, 0.80, 0.85]   # five strictly increasing marks = scores 1..5
"""

_PROMPT = """\
# {id} — {title}

Build and train a Keras model that classifies images from `{dataset}` into {classes}
classes. It passes at **80% accuracy** on held-out images you never see.

## Input contract

The grader feeds your model a batch of shape `(N, {shape})`: float32 pixels **already
scaled to 0-1** (divided by 255). Train on inputs prepared the same way. The model must
end in `Dense({classes}, activation="softmax")` (logits also work).

## Data

```python
from grader.datasets import load_arrays

x_train, y_train = load_arrays("{dataset}", "train")  # uint8 images, integer labels
```

## What to write

Fill in `solution_model()` in `solutions/{id}/solution.py`: build, compile, train and
**return** the model. Only built-in Keras layers are accepted.

```
python solutions/{id}/solution.py     # trains and saves model.keras
grade {id}
```
"""

_STARTER = '''\
"""{id}: fill in solution_model(). Run `python solution.py`, then `grade {id}`."""

import sys
from pathlib import Path

import keras


def solution_model() -> keras.Model:
    # YOUR CODE HERE: load the data with grader.datasets.load_arrays("{dataset}", "train"),
    # scale pixels to 0-1, then build and TRAIN a model. This one is untrained: it fails.
    model = keras.Sequential(
        [
            keras.Input(shape=({shape},)),
            keras.layers.Flatten(),
            keras.layers.Dense({classes}, activation="softmax", kernel_initializer="zeros"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# Do not change this block: it saves your model where the grader looks for it.
if __name__ == "__main__":
    model = solution_model()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("model.keras")
    model.save(target)
    print(f"saved {{target}}")
'''

_REFERENCE = '''\
"""{id} reference: the instructor's solution. It must pass with margin (`grade validate {id}`)."""

import sys
from pathlib import Path

import keras

from grader.datasets import load_arrays


def solution_model() -> keras.Model:
    keras.utils.set_random_seed(7)  # a fixed seed keeps `grade validate --runs 3` stable
    x_train, y_train = load_arrays("{dataset}", "train")
    x_train = x_train.reshape(-1, {shape}).astype("float32") / 255.0
    # YOUR CODE HERE: build, compile and fit a model that clears the pass mark with margin.
    raise NotImplementedError("fill in the reference solution for {id}")


if __name__ == "__main__":
    model = solution_model()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("model.keras")
    model.save(target)
    print(f"saved {{target}}")
'''

_FILES = {
    "task.toml": _TASK_TOML,
    "prompt.md": _PROMPT,
    "starter.py": _STARTER,
    "reference.py": _REFERENCE,
}
