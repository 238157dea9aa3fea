"""What an instructor runs: new tasks, validation, and grading a cohort.

- :mod:`grader.instructors.scaffold`: ``grade new`` (templates in ``templates/``).
- :mod:`grader.instructors.validate`: ``grade validate``: a task cannot ship broken.
- :mod:`grader.instructors.reference`: an unfilled reference.py, found without running it.
- :mod:`grader.instructors.submissions`: a messy submissions folder read into entries.
- :mod:`grader.instructors.names`: student names as an LMS writes them; folder-safe slugs.
- :mod:`grader.instructors.roster`: a roster CSV joined to the students (ids, emails).
- :mod:`grader.instructors.copies`: copied models (same file, or same weights re-saved).
- :mod:`grader.instructors.batch`: ``grade batch``: N at a time, resumable.
- :mod:`grader.instructors.ray_backend`: the same grading as Ray tasks.
- :mod:`grader.instructors.exports`: CSV, JSON, JUnit and Gradescope files.
- :mod:`grader.instructors.lms`: Canvas's and Moodle's grade-import layouts.
- :mod:`grader.instructors.gradescope`: Gradescope's results.json, the autograder zip, and
  ``run_autograder``'s grading.
- :mod:`grader.instructors.classroom`: ``grade classroom``: a GitHub Actions workflow.
"""
