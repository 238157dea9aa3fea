"""What a candidate practises against: the gradebook, clocks, history and exam sessions.

- :mod:`grader.practice.gradebook`: the SQLite file of every attempt, clocks and sessions.
- :mod:`grader.practice.clock`: time used, safe against a clock moved back.
- :mod:`grader.practice.history`: recording a grading, and progress per task.
- :mod:`grader.practice.exam`: timed multi-task sessions and their weighted total.
"""
