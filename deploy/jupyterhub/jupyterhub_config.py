"""JupyterHub for one class of the gradclip course on one machine (`make hub`; README).

Local users log in with their system password (PAM); each gets a JupyterLab server started as
that user from the course's environment, with nbgrader's exchange for handing out and handing
in. Learners see nbgrader's Assignments tab; instructors also get the Formgrader and the Courses
tab. `deploy/jupyterhub/classroom.py setup` prepares what this file reads: the state folder
(GRADCLIP_HUB_STATE, default /srv/gradclip-hub) with the exchange, and in hub/ (root's alone)
classroom.json, the hub's database and secrets. Listening addresses come from the environment
so that several hubs (the tests') can run side by side:

    GRADCLIP_HUB_IP, GRADCLIP_HUB_PORT   where browsers connect (127.0.0.1:8000)
    GRADCLIP_HUB_API_PORT                the hub's internal API (8081)
    GRADCLIP_PROXY_API_PORT              the proxy's REST API (8001)
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub provides get_config when it loads this file)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import classroom  # noqa: E402  (deploy/jupyterhub/classroom.py: the environment of each server)

STATE = Path(os.environ.get("GRADCLIP_HUB_STATE", classroom.DEFAULT_STATE))
PRIVATE = STATE / classroom.PRIVATE
IP = os.environ.get("GRADCLIP_HUB_IP", "127.0.0.1")
PORT = int(os.environ.get("GRADCLIP_HUB_PORT", "8000"))
HUB_API_PORT = int(os.environ.get("GRADCLIP_HUB_API_PORT", "8081"))
PROXY_API_PORT = int(os.environ.get("GRADCLIP_PROXY_API_PORT", "8001"))

try:
    CLASSROOM = classroom.load(STATE)
except classroom.SetupError as error:
    sys.exit(str(error))
INSTRUCTORS = CLASSROOM["instructors"]          # {user name: their nbgrader course root}
LEARNERS = CLASSROOM["learners"]

# --- Where the hub listens and keeps its state ---------------------------------------------
c.JupyterHub.bind_url = f"http://{IP}:{PORT}"
# Every user's server on a host of its own (teacher.localhost, ada.localhost): one user's pages
# cannot script another's, and the instructor's JupyterLab may show the formgrader in a tab (an
# iframe, which JupyterHub forbids on a shared host). Browsers send *.localhost to this machine;
# a real class needs a wildcard DNS name (GRADCLIP_HUB_DOMAIN=https://hub.example.edu; README).
DOMAIN = os.environ.get("GRADCLIP_HUB_DOMAIN", "localhost" if IP.startswith("127.") else "")
if DOMAIN:
    c.JupyterHub.subdomain_host = DOMAIN if "://" in DOMAIN else f"http://{DOMAIN}:{PORT}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{HUB_API_PORT}"
c.JupyterHub.db_url = f"sqlite:///{PRIVATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(PRIVATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(PRIVATE / "jupyterhub.pid")
# Stopping the hub stops every learner's server (the default, stated because tests rely on it).
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# The proxy (configurable-http-proxy, npm), installed by `make hub` into deploy/jupyterhub.
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.pid_file = str(PRIVATE / "proxy.pid")
c.ConfigurableHTTPProxy.auth_token = (PRIVATE / "proxy-token").read_text(encoding="utf-8").strip()

# --- Who may log in -------------------------------------------------------------------------
# Local accounts and their passwords (PAM). For a real class, replace this with the
# university's single sign-on (README: "Running a real class").
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no login session (utmp, systemd) per server
c.Authenticator.allowed_users = set(INSTRUCTORS) | set(LEARNERS)

# A token for scripts (the end-to-end test) that start servers and act for users.
c.JupyterHub.services = [{
    "name": "classroom",
    "api_token": (PRIVATE / "service-token").read_text(encoding="utf-8").strip(),
}]
c.JupyterHub.load_roles = [{
    "name": "classroom",
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
    "services": ["classroom"],
}]

# --- Each user's JupyterLab ----------------------------------------------------------------
c.Spawner.cmd = [str(classroom.PYTHON.parent / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# Instructors grade written answers by hand in a second server, named grade-NN, whose
# formgrader opens lesson NN's grading run (classroom.server_environment).
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 3


def _user_environment(spawner) -> None:
    """Learners get the configuration that hides the instructor's tools; both get the exchange.
    (Assigned, not updated in place: the configured dict is shared by every spawner.)"""
    spawner.environment = {**spawner.environment,
                           **classroom.server_environment(CLASSROOM, spawner.user.name,
                                                          spawner.name),
                           "GRADCLIP_SUBDOMAINS": "1" if DOMAIN else "0"}


c.Spawner.pre_spawn_hook = _user_environment
