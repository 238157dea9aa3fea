"""What TensorFlow's C++ side prints while it loads, told apart from the learner's own output.

``TF_CPP_MIN_LOG_LEVEL=3`` in the child's environment (:func:`grader.sandbox.process.child_env`)
silences TensorFlow's logging once it is set up, but TensorFlow 2.18+ logs through absl, and
what its libraries print while they are loaded comes before that: absl's "before
absl::InitializeLog()" banner, then one ``I0000 …] `` line each from the CPU-feature, oneDNN
and CUDA stub checks, once per library (so twice per import). No variable reaches those, so
the parent drops them from the streamed output and the log tail. Errors (``E``/``F`` lines)
are kept: they can say why a run died.
"""

from __future__ import annotations

import re

_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.-]+:\d+\] .*"
    r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate "
    r"compiler flags\."
)


def is_tf_noise(line: str) -> bool:
    """Whether ``line`` is TensorFlow's start-up logging (information or warning level)."""
    return _NOISE.fullmatch(line.strip()) is not None
