"""The trust boundary: everything that touches a learner's file or runs a learner's code.

- :mod:`grader.sandbox.files`: learner paths opened without links, regular files only.
- :mod:`grader.sandbox.static_check`: a model's config checked statically, before any load.
- :mod:`grader.sandbox.weights`: a model's weights fingerprinted statically (copy detection).
- :mod:`grader.sandbox.confine`: the OS confinement a child runs under (bubblewrap, seccomp).
- :mod:`grader.sandbox.process`: starting a child, its limits, timeout and reply protocol.
- ``_worker.py``: the child itself, the only code that imports TensorFlow.
"""
