"""Task rubrics: what the model must BE, judged from the static inspection of its file.

A task teaches a pattern (one sigmoid unit, augmentation inside the model, a frozen
pretrained base); accuracy alone does not show it was followed. ``[rubric]`` in task.toml
declares requirements, each judged here as one :class:`~grader.result.RubricLine` from the
:class:`~grader.sandbox.static_check.ModelSummary` (the parsed config, never TensorFlow), and
the task's ``checks.py`` adds one line per pytest test (:mod:`grader.grading.checks`).
:func:`apply` then gives unmet lines the task's declared effect on a scored Result.

Pure functions: nothing here reads files or loads models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from grader.result import RubricLine

if TYPE_CHECKING:
    from grader.result import Result
    from grader.sandbox.static_check import LayerInfo, ModelSummary
    from grader.tasks.spec import RubricSpec, TaskSpec

MAX_SCORE = 5
FROZEN_SHARE = 0.5
"""A base counts as frozen when at least this share of its layers is saved non-trainable:
wholly frozen for feature extraction, or fine-tuned on its top layers only."""
_NESTED_MODELS = frozenset({"Functional", "Sequential", "Model"})
_STRENGTH = {"warn": 0, "cap": 1, "fail": 2}


@dataclass(frozen=True)
class _Signature:
    """How a known application's own layers are named: the first ones any copy of it keeps
    (also when truncated), and the pattern every one of its layers follows."""

    first: frozenset[str]
    layer: re.Pattern[str]


_KNOWN_BASES = {
    "mobilenetv2": _Signature(
        frozenset({"Conv1", "expanded_conv_depthwise"}),
        re.compile(
            r"Conv1(_pad|_relu)?|bn_Conv1|expanded_conv_\w+|block_\d+_\w+|Conv_1(_bn)?|out_relu"
        ),
    )
}
"""Applications recognised by their layer names too: inlined with ``Model(base.input, ...)``
(no nested model), and checked inside a nested model named like them."""


def _key(name: str) -> str:
    """``"mobilenetv2_1.00_160"`` -> ``"mobilenetv21.00160"``: lower case, no ``_``/``-``."""
    return re.sub(r"[_\-\s]", "", name.lower())


def named_like(name: str, base: str) -> bool:
    """Whether a nested model's ``name`` is Keras' name for application ``base``.

    Compared in lower case without ``_``/``-``: the name starts with the base's, followed by
    nothing or a non-letter. ``mobilenetv2_1.00_160`` and ``MobileNetV2`` match
    ``MobileNetV2``; ``mobilenetv2`` does not match ``MobileNet``, nor ``resnet50v2``
    ``ResNet50``.
    """
    key, want = _key(name), _key(base)
    return key.startswith(want) and not key[len(want) : len(want) + 1].isalpha()


@dataclass(frozen=True)
class Base:
    """A pretrained base found in the model, and its layers."""

    name: str
    layers: tuple[LayerInfo, ...]
    inline: bool = False

    @property
    def frozen(self) -> int:
        """How many of its layers are saved non-trainable."""
        return sum(not layer.trainable for layer in self.layers)


def find_base(summary: ModelSummary, base: str) -> Base | None:
    """The application ``base`` in the model: a nested model named like it (holding its own
    layers, where :data:`_KNOWN_BASES` knows them), else its layers inlined at one level."""
    signature = _KNOWN_BASES.get(_key(base))
    for layer in summary.layers:
        if layer.class_name not in _NESTED_MODELS or not named_like(layer.name, base):
            continue
        path = (*layer.within, layer.name)
        inside = tuple(info for info in summary.layers if info.within[: len(path)] == path)
        names = {info.name for info in inside}
        if signature is None or signature.first <= names:
            return Base(layer.name, inside)
    if signature is None:
        return None
    levels = {layer.within for layer in summary.layers}
    for level in sorted(levels, key=len):
        inside = tuple(
            info
            for info in summary.layers
            if info.within == level and signature.layer.fullmatch(info.name)
        )
        if signature.first <= {info.name for info in inside}:
            return Base("/".join((*level, "(inlined)")) if level else "(inlined)", inside, True)
    return None


def evaluate(rubric: RubricSpec, summary: ModelSummary) -> list[RubricLine]:
    """One line per requirement of ``rubric``, in a fixed order: output, base, layers, size."""
    lines: list[RubricLine] = []

    def line(name: str, met: bool, reason: str) -> None:
        lines.append(RubricLine(name=name, met=met, reason=reason, effect=rubric.on_unmet))

    if rubric.output:
        line(*_output_line(rubric.output, summary))
    if rubric.base_model is not None:
        wanted = rubric.base_model
        found = find_base(summary, wanted)
        build = (
            f"build it with keras.applications.{wanted}(include_top=False) and call it on "
            "the rescaled input: x = base(x, training=False)"
        )
        if found is None:
            line(f"{wanted} base", False, f"no {wanted} base found: {build}")
        else:
            how = "inlined" if found.inline else f"nested model {found.name!r}"
            line(f"{wanted} base", True, f"{how}, {len(found.layers)} layers")
        if rubric.base_frozen:
            line(f"{wanted} base frozen", *_frozen(wanted, found))
    for cls in rubric.require_layers:
        count = summary.class_names.count(cls)
        if count:
            line(f"{cls} layer", True, f"{count} {cls} layer{'s' * (count > 1)} found")
        else:
            line(
                f"{cls} layer",
                False,
                f"no {cls} layer found: add keras.layers.{cls}(...) inside the model",
            )
    for group in rubric.require_any:
        present = [cls for cls in group if cls in summary.class_names]
        shown = ", ".join(group[:3]) + (f", … ({len(group)} classes)" if len(group) > 3 else "")
        name = f"one of {shown}"
        if present:
            line(name, True, f"{', '.join(present)} found")
        else:
            line(
                name,
                False,
                f"none of {', '.join(group)} found: add at least one inside the model, e.g. "
                f"keras.layers.{group[0]}(...)",
            )
    if rubric.max_params is not None:
        n, cap = summary.n_params, rubric.max_params
        name = f"at most {cap:,} parameters"
        if n <= cap:
            line(name, True, f"{n:,} parameters")
        else:
            line(
                name,
                False,
                f"the model has {n:,} parameters, over this task's {cap:,}: use fewer or "
                "smaller Dense layers, or pool before Flatten",
            )
    return lines


def _output_line(
    wanted: tuple[tuple[str, int], ...], summary: ModelSummary
) -> tuple[str, bool, str]:
    heads = " or ".join(f"Dense({units}, activation={act!r})" for act, units in wanted)
    act, units = summary.last_activation, summary.output_units
    if (act, units) in wanted:
        return "output layer", True, f"{units} unit{'s' * (units != 1)}, {act}"
    if units is None or act is None:
        found = "the output layer's units and activation are not declared in the file"
    else:
        found = f"the model ends in {units} unit{'s' * (units != 1)} with {act}"
    return "output layer", False, f"{found}; this task wants {heads} as the last layer"


def _frozen(wanted: str, found: Base | None) -> tuple[bool, str]:
    if found is None:
        return False, f"no {wanted} base to freeze: set base.trainable = False once it is built"
    total, frozen = len(found.layers), found.frozen
    if total and frozen >= FROZEN_SHARE * total:
        return True, f"{frozen} of {total} base layers frozen (trainable=False)"
    return False, (
        f"only {frozen} of {total} {wanted} layers are frozen: set base.trainable = False "
        "before training the new head; when fine-tuning, unfreeze only its top layers"
    )


def apply(task: TaskSpec, result: Result, lines: list[RubricLine]) -> Result:
    """``result`` (scored) carrying ``lines``, with the strongest unmet line's effect:

    - ``warn``: status and score unchanged; the message says what is missing;
    - ``cap``: the score is at most ``[rubric] cap_score``; the status still follows the
      pass mark;
    - ``fail``: the status is ``fail`` and the score at most the highest a failing accuracy
      earns (the tiers below the pass mark: 3 with the usual tiers).
    """
    unmet = [line for line in lines if not line.met]
    if not unmet:
        return replace(result, rubric=lines)
    effect = max((line.effect for line in unmet), key=lambda e: _STRENGTH.get(e, 0))
    what = unmet[0].reason + (f" (+{len(unmet) - 1} more)" if len(unmet) > 1 else "")
    if effect == "fail":
        ceiling = sum(t < task.grading.threshold for t in task.grading.score_tiers)
        joint = ", but" if result.passed else "; and"
        return replace(
            result,
            status="fail",
            score=min(result.score, ceiling),
            message=f"{result.message}{joint} the rubric is not met: {what}",
            rubric=lines,
        )
    if effect == "cap":
        cap = task.rubric.cap_score if task.rubric.cap_score is not None else MAX_SCORE
        said = (
            f"score capped at {cap}/{MAX_SCORE}, rubric not met"
            if result.score > cap
            else f"rubric not met (it caps the score at {cap}/{MAX_SCORE})"
        )
        return replace(
            result,
            score=min(result.score, cap),
            message=f"{result.message}; {said}: {what}",
            rubric=lines,
        )
    return replace(result, message=f"{result.message}; rubric warning: {what}", rubric=lines)
