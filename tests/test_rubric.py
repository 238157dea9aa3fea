"""Task rubrics: each requirement judged from the model file, and its declared effect.

The catalogue's hidden variants (a plain CNN for task06, a 2-unit softmax for task03, no
augmentation for task04) are written as hand-made config.json zips and judged through the
static inspector and grader.grading.rubric directly: fast, no TensorFlow. Tests marked
``slow`` save real Keras models (MobileNetV2 with weights=None) or grade through the sandbox.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from grader.grading import rubric
from grader.result import Result, RubricLine
from grader.sandbox.static_check import LayerInfo, ModelSummary, inspect_model
from grader.tasks.spec import RubricSpec, TaskSpec, load_task

REPO_TASKS = Path(__file__).resolve().parents[1] / "tasks"


# --- hand-made Keras 3 configs ------------------------------------------------------------


def layer(cls: str, name: str, *, trainable: bool = True, **config: Any) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": cls,
        "config": {"name": name, "trainable": trainable, **config},
        "registered_name": None,
    }


def dense(units: int, activation: str, name: str = "dense") -> dict[str, Any]:
    return layer("Dense", name, units=units, activation=activation)


def _model(cls: str, name: str, layers: tuple[dict[str, Any], ...], trainable: bool) -> Any:
    inp = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 64, 64, 3], "dtype": "float32", "name": f"{name}_in"},
        "registered_name": None,
    }
    config: dict[str, Any] = {"name": name, "trainable": trainable, "layers": [inp, *layers]}
    module = "keras" if cls == "Sequential" else "keras.src.models.functional"
    if cls == "Functional":
        config["input_layers"] = [f"{name}_in", 0, 0]
        config["output_layers"] = [layers[-1]["config"]["name"], 0, 0]
    return {"module": module, "class_name": cls, "config": config, "registered_name": cls}


def sequential(*layers: dict[str, Any], name: str = "sequential", trainable: bool = True) -> Any:
    return _model("Sequential", name, layers, trainable)


def functional(*layers: dict[str, Any], name: str = "functional", trainable: bool = True) -> Any:
    return _model("Functional", name, layers, trainable)


MOBILENET_NAMES = (
    "Conv1", "bn_Conv1", "Conv1_relu", "expanded_conv_depthwise", "expanded_conv_project",
    "block_1_expand", "block_1_depthwise", "block_1_project", "Conv_1", "out_relu",
)  # fmt: skip
"""The first and last layers of keras.applications.MobileNetV2, a few blocks between."""


def mobilenet_layers(frozen: int) -> tuple[dict[str, Any], ...]:
    """MobileNetV2's layers by name, the first ``frozen`` of them saved non-trainable."""
    return tuple(
        layer("Conv2D", name, trainable=i >= frozen) for i, name in enumerate(MOBILENET_NAMES)
    )


def mobilenet(frozen: int = len(MOBILENET_NAMES), trainable: bool = True) -> Any:
    """A nested MobileNetV2 as Keras saves it: a Functional named mobilenetv2_1.00_160."""
    return functional(*mobilenet_layers(frozen), name="mobilenetv2_1.00_160", trainable=trainable)


def save(tmp_path: Path, config: Any, name: str = "model.keras") -> Path:
    """A .keras zip the inspector accepts: config.json and a small model.weights.h5."""
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        f.create_dataset("layers/dense/vars/0", data=np.zeros((8, 4), dtype="float32"))
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        zf.writestr("model.weights.h5", weights.getvalue())
    return path


def summary_of(tmp_path: Path, config: Any) -> ModelSummary:
    return inspect_model(save(tmp_path, config), max_params=10_000_000, max_file_mb=50)


def judged(task_id: str, tmp_path: Path, config: Any) -> dict[str, RubricLine]:
    """The lines of catalogue task ``task_id``'s rubric for ``config``, by name."""
    lines = rubric.evaluate(load_task(task_id, REPO_TASKS).rubric, summary_of(tmp_path, config))
    return {line.name: line for line in lines}


CONV = (layer("Conv2D", "conv", filters=8), layer("MaxPooling2D", "pool"))
AUGMENT = sequential(
    layer("RandomFlip", "flip", mode="horizontal"), layer("RandomRotation", "rot"), name="aug"
)


# --- the catalogue's hidden variants -------------------------------------------------------


def test_task03_softmax_over_two_units_misses_the_single_sigmoid_unit(tmp_path: Path) -> None:
    lines = judged(
        "task03", tmp_path, sequential(*CONV, layer("Flatten", "f"), dense(2, "softmax"))
    )
    head = lines["output layer"]
    assert not head.met and head.effect == "cap"
    assert head.reason == (
        "the model ends in 2 units with softmax; this task wants Dense(1, activation='sigmoid') "
        "or Dense(1, activation='linear') as the last layer"
    )
    assert lines["Conv2D layer"].met


def test_task03_two_sigmoid_units_are_not_one(tmp_path: Path) -> None:
    config = sequential(*CONV, layer("Flatten", "f"), dense(2, "sigmoid"))
    head = judged("task03", tmp_path, config)["output layer"]
    assert not head.met and head.reason.startswith("the model ends in 2 units with sigmoid")


def test_task03_reference_pattern_meets_every_line(tmp_path: Path) -> None:
    config = sequential(*CONV, layer("GlobalAveragePooling2D", "gap"), dense(1, "sigmoid"))
    lines = judged("task03", tmp_path, config)
    assert [(name, line.met) for name, line in lines.items()] == [
        ("output layer", True),
        ("Conv2D layer", True),
    ]
    assert lines["output layer"].reason == "1 unit, sigmoid"


def test_task03_one_logit_is_accepted_as_the_prompt_says(tmp_path: Path) -> None:
    lines = judged("task03", tmp_path, sequential(*CONV, layer("Flatten", "f"), dense(1, "linear")))
    assert lines["output layer"].met


def test_task04_without_augmentation_misses_the_augmentation_line(tmp_path: Path) -> None:
    config = sequential(layer("Rescaling", "rescale", scale=1 / 255), *CONV, dense(4, "softmax"))
    lines = judged("task04", tmp_path, config)
    assert lines["Rescaling layer"].met
    (augment,) = (line for name, line in lines.items() if name.startswith("one of"))
    assert not augment.met and augment.effect == "cap"
    assert augment.reason.startswith("none of RandomFlip, RandomRotation, RandomZoom")
    assert "add at least one inside the model" in augment.reason


def test_task04_augmentation_in_a_nested_sequential_counts(tmp_path: Path) -> None:
    config = sequential(AUGMENT, layer("Rescaling", "rescale"), *CONV, dense(4, "softmax"))
    assert all(line.met for line in judged("task04", tmp_path, config).values())


def test_task04_any_one_augmentation_layer_is_enough(tmp_path: Path) -> None:
    zoom = layer("RandomZoom", "zoom", height_factor=0.1)
    config = sequential(zoom, layer("Rescaling", "rescale"), *CONV, dense(4, "softmax"))
    lines = judged("task04", tmp_path, config)
    (augment,) = (line for name, line in lines.items() if name.startswith("one of"))
    assert augment.met and augment.reason == "RandomZoom found"


def test_task04_without_rescaling_misses_it(tmp_path: Path) -> None:
    lines = judged("task04", tmp_path, sequential(AUGMENT, *CONV, dense(4, "softmax")))
    line = lines["Rescaling layer"]
    assert not line.met
    assert (
        line.reason == "no Rescaling layer found: add keras.layers.Rescaling(...) inside the model"
    )


def test_task06_plain_cnn_has_no_mobilenet_base(tmp_path: Path) -> None:
    config = sequential(layer("Rescaling", "r"), *CONV, layer("Flatten", "f"), dense(3, "softmax"))
    lines = judged("task06", tmp_path, config)
    base, frozen = lines["MobileNetV2 base"], lines["MobileNetV2 base frozen"]
    assert not base.met and base.effect == "fail"
    assert base.reason.startswith(
        "no MobileNetV2 base found: build it with keras.applications.MobileNetV2(include_top=False)"
    )
    assert not frozen.met and frozen.reason.startswith("no MobileNetV2 base to freeze")


def test_task06_frozen_base_meets_both_lines(tmp_path: Path) -> None:
    config = functional(
        layer("Rescaling", "r"),
        mobilenet(trainable=False),
        layer("GlobalAveragePooling2D", "gap"),
        dense(3, "softmax"),
    )
    lines = judged("task06", tmp_path, config)
    assert lines["MobileNetV2 base"].met
    assert lines["MobileNetV2 base"].reason == "nested model 'mobilenetv2_1.00_160', 10 layers"
    assert lines["MobileNetV2 base frozen"].met
    assert (
        lines["MobileNetV2 base frozen"].reason == "10 of 10 base layers frozen (trainable=False)"
    )


def test_task06_fine_tuned_top_layers_still_count_as_frozen(tmp_path: Path) -> None:
    config = sequential(
        mobilenet(frozen=7), layer("GlobalAveragePooling2D", "g"), dense(3, "softmax")
    )
    assert judged("task06", tmp_path, config)["MobileNetV2 base frozen"].met


def test_task06_base_trained_whole_is_not_frozen(tmp_path: Path) -> None:
    config = sequential(
        mobilenet(frozen=4), layer("GlobalAveragePooling2D", "g"), dense(3, "softmax")
    )
    lines = judged("task06", tmp_path, config)
    assert lines["MobileNetV2 base"].met
    frozen = lines["MobileNetV2 base frozen"]
    assert not frozen.met
    assert frozen.reason.startswith(
        "only 4 of 10 MobileNetV2 layers are frozen: set base.trainable"
    )


def test_a_nested_model_named_mobilenetv2_without_its_layers_is_not_the_base(
    tmp_path: Path,
) -> None:
    fake = sequential(*CONV, name="mobilenetv2_1.00_160")
    lines = judged("task06", tmp_path, sequential(fake, dense(3, "softmax")))
    assert not lines["MobileNetV2 base"].met


def test_a_base_inlined_with_model_base_input_is_found_by_its_layer_names(tmp_path: Path) -> None:
    config = functional(
        *mobilenet_layers(frozen=10), layer("GlobalAveragePooling2D", "g"), dense(3, "softmax")
    )
    lines = judged("task06", tmp_path, config)
    assert (
        lines["MobileNetV2 base"].met and lines["MobileNetV2 base"].reason == "inlined, 10 layers"
    )
    assert lines["MobileNetV2 base frozen"].met


@pytest.mark.parametrize(
    ("task_id", "config", "status", "score", "said"),
    [
        (
            "task03",
            sequential(*CONV, layer("Flatten", "f"), dense(2, "softmax")),
            "pass",
            3,
            "; score capped at 3/5, rubric not met: the model ends in 2 units with softmax",
        ),
        (
            "task04",
            sequential(layer("Rescaling", "r"), *CONV, dense(4, "softmax")),
            "pass",
            3,
            "; score capped at 3/5, rubric not met: none of RandomFlip",
        ),
        (
            "task06",
            sequential(layer("Rescaling", "r"), *CONV, layer("Flatten", "f"), dense(3, "softmax")),
            "fail",
            3,
            ", but the rubric is not met: no MobileNetV2 base found: build it with "
            "keras.applications.MobileNetV2(include_top=False)",
        ),
    ],
)
def test_each_hidden_variant_gets_its_tasks_declared_effect(
    tmp_path: Path, task_id: str, config: Any, status: str, score: int, said: str
) -> None:
    from grader.grading.pipeline import judge

    spec = load_task(task_id, REPO_TASKS)
    result = judge(spec, summary_of(tmp_path, config), scored(value=0.97, score=5))
    assert (result.status, result.score) == (status, score)
    assert said in result.message
    assert any(not line.met for line in result.rubric)


# --- rules, on summaries built by hand -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base", "expected"),
    [
        ("mobilenetv2_1.00_160", "MobileNetV2", True),
        ("MobileNetV2", "MobileNetV2", True),
        ("mobilenet_v2", "MobileNetV2", True),
        ("mobilenetv2_1.00_160", "MobileNet", False),
        ("mobilenet_1.00_224", "MobileNet", True),
        ("resnet50v2", "ResNet50", False),
        ("resnet50", "ResNet50", True),
        ("inception_v3", "InceptionV3", True),
        ("my_cnn", "MobileNetV2", False),
    ],
)
def test_base_names_match_keras_application_names(name: str, base: str, expected: bool) -> None:
    assert rubric.named_like(name, base) is expected


def summary(
    *layers: LayerInfo, n_params: int = 1000, act: str = "softmax", units: int | None = 3
) -> Any:
    return ModelSummary(
        format="keras",
        class_names=tuple(info.class_name for info in layers),
        n_params=n_params,
        last_activation=act,
        has_rescaling=False,
        output_units=units,
        layers=layers,
    )


def test_any_application_is_found_as_a_nested_model_by_its_name() -> None:
    s = summary(
        LayerInfo("Functional", "efficientnetb0", trainable=False),
        LayerInfo("Conv2D", "stem_conv", trainable=False, within=("efficientnetb0",)),
        LayerInfo("Dense", "dense", trainable=True),
    )
    lines = rubric.evaluate(RubricSpec("fail", base_model="EfficientNetB0", base_frozen=True), s)
    assert [line.met for line in lines] == [True, True]


def test_parameter_budget_line() -> None:
    spec = RubricSpec("warn", max_params=500)
    (over,) = rubric.evaluate(spec, summary(n_params=812))
    assert over.name == "at most 500 parameters" and not over.met
    assert over.reason.startswith("the model has 812 parameters, over this task's 500")
    (within,) = rubric.evaluate(spec, summary(n_params=500))
    assert within.met and within.reason == "500 parameters"


def test_an_undeclared_output_is_not_met_and_says_why() -> None:
    (line,) = rubric.evaluate(RubricSpec("cap", 3, output=(("sigmoid", 1),)), summary(units=None))
    assert not line.met and "not declared in the file" in line.reason


def test_no_rubric_gives_no_line() -> None:
    assert rubric.evaluate(RubricSpec(), summary()) == []


# --- effects -------------------------------------------------------------------------------


def scored(status: str = "pass", value: float = 0.97, score: int = 5) -> Result:
    return Result(
        task="t",
        status=status,  # type: ignore[arg-type]
        message=f"{value:.2%} reaches the 90% pass mark (+{(value - 0.9) * 100:.2f} points)",
        value=value,
        threshold=0.9,
        margin=value - 0.9,
        score=score,
    )


UNMET = RubricLine("output layer", False, "the model ends in 2 units with softmax", "cap")
MET = RubricLine("Conv2D layer", True, "1 Conv2D layer found", "cap")


def effect_task(on_unmet: str) -> TaskSpec:
    spec = load_task("task03", REPO_TASKS)  # threshold 0.90, tiers 0.60 .. 0.95
    cap = 3 if on_unmet == "cap" else None
    return replace(spec, rubric=replace(spec.rubric, on_unmet=on_unmet, cap_score=cap))


def test_cap_lowers_the_score_and_keeps_the_pass() -> None:
    line = replace(UNMET, effect="cap")
    result = rubric.apply(effect_task("cap"), scored(), [MET, line])
    assert (result.status, result.score) == ("pass", 3)
    assert result.message == (
        "97.00% reaches the 90% pass mark (+7.00 points); score capped at 3/5, "
        "rubric not met: the model ends in 2 units with softmax"
    )
    assert result.rubric == [MET, line]


def test_cap_never_raises_a_lower_score() -> None:
    result = rubric.apply(effect_task("cap"), scored(value=0.86, score=2), [UNMET])
    assert result.score == 2
    assert "; rubric not met (it caps the score at 3/5): the model ends in" in result.message


def test_fail_turns_a_pass_into_a_fail_scored_below_the_pass_mark() -> None:
    line = replace(UNMET, effect="fail")
    result = rubric.apply(effect_task("fail"), scored(), [line, replace(line, name="other")])
    assert (result.status, result.score, result.exit_code) == ("fail", 3, 1)
    assert result.message == (
        "97.00% reaches the 90% pass mark (+7.00 points), but the rubric is not met: "
        "the model ends in 2 units with softmax (+1 more)"
    )


def test_fail_on_a_failing_accuracy_adds_the_rubric_to_the_message() -> None:
    below = replace(
        scored(value=0.8, score=2), status="fail", message="80.00% is below the 90% pass mark"
    )
    result = rubric.apply(effect_task("fail"), below, [replace(UNMET, effect="fail")])
    assert (result.status, result.score) == ("fail", 2)
    assert result.message.endswith(
        "; and the rubric is not met: the model ends in 2 units with softmax"
    )


def test_warn_changes_only_the_message() -> None:
    line = replace(UNMET, effect="warn")
    result = rubric.apply(effect_task("warn"), scored(), [line])
    assert (result.status, result.score) == ("pass", 5)
    assert result.message.endswith("; rubric warning: the model ends in 2 units with softmax")


def test_the_strongest_unmet_effect_applies() -> None:
    warn = replace(UNMET, effect="warn")
    lines = [warn, replace(UNMET, name="base", effect="fail"), warn]
    result = rubric.apply(effect_task("cap"), scored(), lines)
    assert (result.status, result.score) == ("fail", 3)


def test_every_line_met_changes_nothing_but_the_lines() -> None:
    before = scored()
    assert rubric.apply(effect_task("fail"), before, [MET]) == replace(before, rubric=[MET])


# --- wired into grading ---------------------------------------------------------------------

RUBRIC_TOML = '\n[rubric]\non_unmet = "cap"\ncap_score = 3\noutput = "sigmoid:1"\n'
CHECKS_PY = '''\
def test_head_is_small(summary):
    """The head has at most 100 parameters."""
    n = summary["n_params"]
    assert n <= 100, f"{n:,} parameters: keep the head under 100"


def test_scored(result):
    assert result["value"] is not None
'''


@pytest.fixture
def rubric_task(tiny_binary_task: TaskSpec) -> TaskSpec:
    """tinybin (2 classes) capping at 3/5 unless one sigmoid unit, with a checks.py."""
    toml = tiny_binary_task.folder / "task.toml"
    toml.write_text(toml.read_text() + RUBRIC_TOML)
    (tiny_binary_task.folder / "checks.py").write_text(CHECKS_PY)
    return TaskSpec.from_toml(toml)


def test_judge_puts_task_toml_lines_before_checks_lines_and_applies_the_effect(
    rubric_task: TaskSpec,
) -> None:
    from grader.grading.pipeline import judge

    result = judge(rubric_task, summary(n_params=1570, act="softmax", units=2), scored())
    assert [(line.name, line.met, line.source) for line in result.rubric] == [
        ("output layer", False, "task.toml"),
        ("checks.py: The head has at most 100 parameters.", False, "checks.py"),
        ("checks.py: test_scored", True, "checks.py"),
    ]
    assert result.rubric[1].reason == "1,570 parameters: keep the head under 100"
    assert (result.status, result.score) == ("pass", 3)
    assert result.message.endswith(
        "rubric not met: the model ends in 2 units with softmax; this "
        "task wants Dense(1, activation='sigmoid') as the last layer (+1 more)"
    )


@pytest.mark.slow
def test_softmax_two_graded_in_the_sandbox_is_capped_and_shows_in_gradescope(
    rubric_task: TaskSpec, pixel_model: Any, tmp_path: Path
) -> None:
    from grader.grading.pipeline import grade_file
    from grader.instructors.gradescope import results_dict

    model = pixel_model(units=2, activation="softmax")
    marker = tmp_path / "IMPORTED"
    (model.parent / "checks.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\ndef test_always():\n    pass\n"
    )
    result = grade_file(rubric_task, model)
    assert (result.status, result.value, result.score) == ("pass", 1.0, 3)
    assert [(line.name, line.met) for line in result.rubric] == [
        ("output layer", False),
        ("checks.py: The head has at most 100 parameters.", False),
        ("checks.py: test_scored", True),
    ]
    assert "score capped at 3/5, rubric not met: the model ends in 2 units" in result.message
    # A learner's checks.py beside the model is refused, never imported.
    assert not marker.exists()
    assert any("checks.py was refused and never imported" in n for n in result.notes)
    tests = {t["name"]: t for t in results_dict(result)["tests"]}
    failed = tests["rubric: checks.py: The head has at most 100 parameters."]
    assert (failed["status"], failed["score"], failed["max_score"]) == ("failed", 0, 0)
    assert failed["output"] == "1,570 parameters: keep the head under 100 (caps the score)"
    assert tests["rubric: checks.py: test_scored"]["status"] == "passed"
    assert results_dict(result)["score"] == 3


@pytest.mark.slow
def test_one_sigmoid_unit_meets_the_rubric_and_keeps_its_score(
    tiny_binary_task: TaskSpec, keras_module: Any, tmp_path: Path
) -> None:
    from grader.grading.pipeline import grade_file

    keras = keras_module
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1, "sigmoid")]
    )
    kernel = np.zeros((784, 1), np.float32)
    kernel[0, 0], kernel[1, 0] = -10.0, 10.0  # fires on class 1's bright pixel
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    model.save(tmp_path / "sigmoid.keras")
    toml = tiny_binary_task.folder / "task.toml"
    toml.write_text(toml.read_text() + RUBRIC_TOML)
    result = grade_file(TaskSpec.from_toml(toml), tmp_path / "sigmoid.keras")
    assert (result.status, result.score) == ("pass", 5), result.message
    assert [(line.name, line.met) for line in result.rubric] == [("output layer", True)]


# --- real Keras models: the hidden variants as Keras saves them -----------------------------


@pytest.fixture(scope="module")
def mobilenet_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """MobileNetV2 (weights=None, no download) in each form a task06 solution takes."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    folder = tmp_path_factory.mktemp("mobilenet")
    shape = (96, 96, 3)

    def head(base: Any, inline: bool = False) -> Any:
        inputs = base.input if inline else keras.Input(shape)
        x = base.output if inline else base(keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs))
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))

    base = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
    paths = {}
    base.trainable = False
    model = head(base)
    paths["frozen"] = folder / "frozen.keras"
    model.save(paths["frozen"])
    paths["frozen_h5"] = folder / "frozen.h5"
    model.save(paths["frozen_h5"])
    base.trainable = True
    for layer in base.layers[:-30]:
        layer.trainable = False
    paths["fine_tuned"] = folder / "fine_tuned.keras"
    model.save(paths["fine_tuned"])
    for layer in base.layers:  # never frozen (base.trainable = True alone keeps the flags)
        layer.trainable = True
    paths["whole"] = folder / "whole.keras"
    model.save(paths["whole"])
    inline = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
    inline.trainable = False
    paths["inline"] = folder / "inline.keras"
    head(inline, inline=True).save(paths["inline"])
    plain = keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    paths["plain"] = folder / "plain.keras"
    plain.save(paths["plain"])
    return paths


@pytest.mark.slow
@pytest.mark.parametrize(
    ("form", "base", "frozen"),
    [
        ("frozen", True, True),
        ("frozen_h5", True, True),
        ("fine_tuned", True, True),
        ("whole", True, False),
        ("inline", True, True),
        ("plain", False, False),
    ],
)
def test_task06_rubric_on_real_mobilenet_models(
    mobilenet_models: dict[str, Path], form: str, base: bool, frozen: bool
) -> None:
    spec = load_task("task06", REPO_TASKS)
    found = inspect_model(mobilenet_models[form], max_params=3_000_000, max_file_mb=40)
    lines = {line.name: line.met for line in rubric.evaluate(spec.rubric, found)}
    assert lines == {"MobileNetV2 base": base, "MobileNetV2 base frozen": frozen}


@pytest.mark.slow
def test_task03_and_task04_variants_saved_by_keras(keras_module: Any, tmp_path: Path) -> None:
    keras = keras_module
    conv = [keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.GlobalAveragePooling2D()]

    def lines(task_id: str, *layers: Any) -> dict[str, bool]:
        model = keras.Sequential([keras.Input((64, 64, 3)), *layers])
        path = tmp_path / f"{task_id}-{len(list(tmp_path.iterdir()))}.keras"
        model.save(path)
        found = inspect_model(path, max_params=2_000_000, max_file_mb=30)
        spec = load_task(task_id, REPO_TASKS)
        return {line.name: line.met for line in rubric.evaluate(spec.rubric, found)}

    softmax_two = lines("task03", *conv, keras.layers.Dense(2, activation="softmax"))
    assert softmax_two == {"output layer": False, "Conv2D layer": True}
    logits_then_softmax = lines(
        "task03", *conv, keras.layers.Dense(2), keras.layers.Activation("softmax")
    )
    assert not logits_then_softmax["output layer"]
    assert lines("task03", *conv, keras.layers.Dense(1, activation="sigmoid"))["output layer"]
    rescale = keras.layers.Rescaling(1 / 255)
    no_augment = lines("task04", rescale, *conv, keras.layers.Dense(4, activation="softmax"))
    assert list(no_augment.values()) == [True, False]
    augment = keras.Sequential([keras.layers.RandomFlip(), keras.layers.RandomZoom(0.1)])
    flipped = lines(
        "task04", augment, keras.layers.Rescaling(1 / 255), *conv, keras.layers.Dense(4)
    )
    assert list(flipped.values()) == [True, True]
