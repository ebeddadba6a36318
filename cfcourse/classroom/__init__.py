"""Classroom exports of the course: the chapters turned into material a teacher hands out and grades.

All of it is derived from the exercise markup of the MyST chapters (see :mod:`.markup`), so a chapter
added later is picked up without any change here. Nothing heavy is imported on import; each module
imports jupytext, nbformat or nbgrader inside the functions that need them.

- :mod:`cfcourse.classroom.markup`: reading the exercise markup (exercises, solution code cells, check
  cells, ``{solution}`` blocks) and turning solution code into stubs.
- :mod:`cfcourse.classroom.leaks`: the leak search, which looks for pieces of the solutions in a folder.
- :mod:`cfcourse.classroom.student`: the student version (notebooks and site, ``python3 tasks.py student``).
- :mod:`cfcourse.classroom.nbgrader_course`: an nbgrader course folder (``python3 tasks.py nbgrader``).
"""
