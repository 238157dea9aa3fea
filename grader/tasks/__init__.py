"""The task format and the learner's workspace: what a task is, and where its files live.

- :mod:`grader.tasks.spec`: ``tasks/<id>/task.toml`` read into a frozen ``TaskSpec``, and the
  catalogue registry (every folder holding a task.toml).
- :mod:`grader.tasks.workspace`: the workspace root, ``solutions/<id>/`` and model discovery.
"""
