"""nbgrader configuration of the course; the course root is the repository root.

nbgrader reads this file when it runs in this folder (`make release`, the formgrader, and
`python -m autograder`, which passes the same settings to its own grading workspace).
"""

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

c.CourseDirectory.course_id = "gradclip"
# The instructor's notebooks, with solutions and hidden tests ...
c.CourseDirectory.source_directory = "solutions"
# ... and what learners get, generated from them by `make release`.
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
