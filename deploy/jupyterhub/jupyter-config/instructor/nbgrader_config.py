"""The instructor's nbgrader course: the course's own settings (solutions/ is nbgrader's source
folder, course/ its release folder), in the copy `classroom.py setup` made in their home."""

import os

c = get_config()  # noqa: F821

course_root = os.environ["GRADCLIP_COURSE_ROOT"]
load_subconfig(os.path.join(course_root, "nbgrader_config.py"))  # noqa: F821
c.CourseDirectory.root = course_root
