"""nbgrader settings every user's server on the hub gets (JUPYTER_CONFIG_PATH, set by the hub)."""

import os

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = os.environ["GRADCLIP_COURSE_ID"]
c.Exchange.root = os.environ["GRADCLIP_EXCHANGE"]
