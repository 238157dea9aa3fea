"""TensorFlow's start-up logging is told apart from what a learner's script prints."""

from __future__ import annotations

import pytest

from grader.sandbox.child_log import is_tf_noise

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796483825.372901    8466 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors.",
    "I0000 00:00:1796483825.373815    8466 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "I0000 00:00:1796483969.408402   11204 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.",
    "W0000 00:00:1796483969.408402       2 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
]
KEPT = [
    "Epoch 1/3",
    "saved solutions/task01/model.keras",
    "E0000 00:00:1796483969.408402       2 bfc_allocator.cc:485] Allocator ran out of memory",
    "I think port.cc:153] is a fine name for a line",
    "WARNING:absl:You are saving your model as an HDF5 file via `model.save()`.",
]


@pytest.mark.parametrize("line", NOISE)
def test_tensorflow_start_up_lines_are_noise(line: str) -> None:
    assert is_tf_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_the_learners_lines_and_tensorflow_errors_are_kept(line: str) -> None:
    assert not is_tf_noise(line)
