"""Lambda's sys.path for python3.X, for the programs pylayer runs in a Lambda-like folder.

pylayer runs the invoke bootstrap (bootstrap.py) and the import probe
(../check/import_probe.py) with `python3.X -I -S -B -c <text>`, where the text is this
file followed by the program: the program calls arrange_sys_path first, before it imports
anything else, as the Lambda runtime does. -I -S -B: no environment variables, no host
site-packages, no bytecode writes.

Lambda's order (AWS Lambda developer guide, "Working with layers for Python Lambda
functions"): the function code folder (/var/task), then
/opt/python/lib/python3.X/site-packages, then /opt/python, then the runtime's own folders
and the standard library. The layer folders are added with site.addsitedir, so .pth files
in them work.
"""

import site
import sys


def arrange_sys_path(task_root, opt_dir, python_path_extra):
    """Puts sys.path in Lambda's order; python_path_extra are the entries of a user's
    PYTHONPATH (with one set, the runtime does not add the /opt folders)."""
    stdlib = [entry for entry in sys.path if entry]
    minor = "%d.%d" % sys.version_info[:2]
    sys.path[:] = [task_root] + list(python_path_extra)
    if not python_path_extra:
        site.addsitedir(opt_dir + "/python/lib/python" + minor + "/site-packages")
        site.addsitedir(opt_dir + "/python")
    sys.path.extend([entry for entry in stdlib if entry not in sys.path])
