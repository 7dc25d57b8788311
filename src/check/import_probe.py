"""The import probe of `pylayer check`: imports one module in Lambda's sys.path order and
reports the outcome as one JSON line after RESULT_MARKER on stdout.

pylayer runs it with `python3.X -I -S -B -c <text>` in a fresh process per module, where the
text is ../invoke/lambda_sys_path.py (which defines arrange_sys_path) followed by this file
with its parameter block filled in (src/check/import-test.ts).
"""

# BEGIN PYLAYER PARAMETERS
# pylayer replaces this block, from the BEGIN line to the END line, with the same names in
# the same order; the values here are placeholders for tests.
TASK_ROOT = "/var/task"
OPT_DIR = "/opt"
PYTHON_PATH_EXTRA = []
MODULE = "json"
RESULT_MARKER = "__PYLAYER_IMPORT_RESULT__"
# END PYLAYER PARAMETERS

if __name__ == "__main__":
    # Before any other import, so that the layer's modules come first as on Lambda.
    arrange_sys_path(TASK_ROOT, OPT_DIR, PYTHON_PATH_EXTRA)  # noqa: F821 (lambda_sys_path.py)

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402


def import_result(target):
    """{"ok": True}, or {"ok": False, "error": the last line of the exception}.

    `module:function` also requires the module to have a callable `function` (a handler).
    """
    module, _, attribute = target.partition(":")
    try:
        loaded = importlib.import_module(module)
        if attribute and not callable(getattr(loaded, attribute, None)):
            raise AttributeError("module %r has no function %r" % (module, attribute))
        return {"ok": True}
    except BaseException as error:
        lines = [
            line.strip()
            for line in traceback.format_exception_only(type(error), error)
            if line.strip()
        ]
        return {"ok": False, "error": lines[-1] if lines else type(error).__name__}


def main():
    result = import_result(MODULE)
    sys.stdout.flush()
    sys.stdout.write("\n" + RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    # No interpreter shutdown: a module's atexit handlers or threads must not change the outcome.
    os._exit(0)


if __name__ == "__main__":
    main()
