"""Everything the user sees: this package is the only place that imports rich.

Results go to stdout; errors, progress and notes go to stderr, so ``--json`` output stays one
clean object. One module per audience, each imported by the command that needs it (so
``grade list`` pays only for its own view):

- ``console``: the two consoles, one-line messages, download progress;
- ``verdict``: one grading, as a candidate reads it;
- ``catalogue``: ``grade list``, ``show``, ``start``;
- ``practice``: clocks, history, exam sessions;
- ``instructor``: batch, validate, new;
- ``html``: the self-contained visual report.
"""
