"""The instructor's nbgrader course (GRADCLIP_COURSE_ROOT, set by the hub): the copy of the course
that `classroom.py setup` made in their home, with the course's own settings (solutions/ is
nbgrader's source folder, course/ its release folder); in a server named grade-NN, the
nbgrader workspace of lesson NN's grading run, with its gradebook."""

import os

c = get_config()  # noqa: F821

course_root = os.environ["GRADCLIP_COURSE_ROOT"]
load_subconfig(os.path.join(course_root, "nbgrader_config.py"))  # noqa: F821
c.CourseDirectory.root = course_root
