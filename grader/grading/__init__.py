"""The grading pipeline: held-out data in, one Result out.

- :mod:`grader.grading.inputs`: the held-out set and training sample, loaded once.
- :mod:`grader.grading.pipeline`: ``grade``: the model checked, predicted in a child, scored.
- :mod:`grader.grading.scoring`: outputs to labels to metrics and a score (pure numpy).
- :mod:`grader.grading.feedback`: hints keyed to the model and its mistakes (pure).
- :mod:`grader.grading.training`: ``run_solution``: a learner's solution.py, sandboxed.
"""
