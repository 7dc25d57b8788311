"""The Python side of `pylayer invoke` (standard library only): it plays the part of the
Lambda Python runtime's bootstrap for one invocation.

Behaviour follows the runtime interface client of the Python runtimes
(aws/aws-lambda-python-runtime-interface-client, bootstrap.py and lambda_context.py): the
handler string is split at its last dot and the module imported with "/" read as "."; import
failures become Runtime.ImportModuleError, syntax errors Runtime.UserCodeSyntaxError, a
missing function Runtime.HandlerNotFound, a bad handler string Runtime.MalformedHandlerName;
a result that is not JSON becomes Runtime.MarshalError (Decimal values are written as
numbers, as the runtime does). An exception from the handler is returned as errorMessage,
errorType, requestId and stackTrace (one string per frame). The root logger gets the
runtime's record format.

Talking to pylayer: JSON lines on file descriptor 3 ("init-done", then "result" or "error"),
so that the function's own output on stdout and stderr stays log output.

pylayer runs it with `python3.X -I -S -B -c <text>`, where the text is lambda_sys_path.py
(which defines arrange_sys_path) followed by this file with its parameter block filled in
(src/invoke/bootstrap.ts).
"""

# BEGIN PYLAYER PARAMETERS
# pylayer replaces this block, from the BEGIN line to the END line, with the same names in
# the same order; the values here are placeholders for tests.
TASK_ROOT = "/var/task"
OPT_DIR = "/opt"
PYTHON_PATH_EXTRA = []
HANDLER = "lambda_function.lambda_handler"
EVENT_PATH = "event.json"
REQUEST_ID = "00000000-0000-0000-0000-000000000000"
INVOKED_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:function"
TIMEOUT_MS = 3000
ENSURE_ASCII = True
# END PYLAYER PARAMETERS

if __name__ == "__main__":
    # Before any other import: the function's modules come first, as on Lambda.
    arrange_sys_path(TASK_ROOT, OPT_DIR, PYTHON_PATH_EXTRA)  # noqa: F821 (lambda_sys_path.py)

import decimal  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

# The control channel to pylayer (file descriptor 3), opened by _main.
_control = None


def _send(message):
    _control.write(json.dumps(message) + "\n")
    _control.flush()


def _finish(message):
    sys.stdout.flush()
    sys.stderr.flush()
    _send(message)
    os._exit(0)


class LambdaContext:
    """The context object of the Python runtime: same attribute names and types."""

    def __init__(self, deadline_ms):
        self.aws_request_id = REQUEST_ID
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = INVOKED_FUNCTION_ARN
        self.client_context = None
        self.identity = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=None,identity=None])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
            )
        )


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = REQUEST_ID
        return True


def _configure_logging():
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.terminator = ""
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _frames(tb):
    return [line for line in traceback.format_list(traceback.extract_tb(tb))]


def _error(error_type, message, stack=None):
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": REQUEST_ID,
        "stackTrace": stack or [],
    }


def _load_handler():
    try:
        module_name, function_name = HANDLER.rsplit(".", 1)
    except ValueError as error:
        return None, _error("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (HANDLER, error))
    if module_name.split(".")[0] in sys.builtin_module_names:
        return None, _error(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % module_name,
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        return None, _error(
            "Runtime.ImportModuleError",
            "Unable to import module '%s': %s" % (module_name, error),
        )
    except SyntaxError as error:
        stack = ['  File "%s" Line %s\n    %s' % (error.filename, error.lineno, error.text)]
        return None, _error(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '%s': %s" % (module_name, error),
            stack,
        )
    except BaseException as error:
        return None, _error(type(error).__name__, str(error), _frames(error.__traceback__))
    function = getattr(module, function_name, None)
    if function is None:
        return None, _error(
            "Runtime.HandlerNotFound",
            "Handler '%s' missing on module '%s'" % (function_name, module_name),
        )
    return function, None


def _default(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def _main():
    global _control
    _control = os.fdopen(3, "w", encoding="utf-8")
    _configure_logging()
    init_started = time.time()
    handler, failure = _load_handler()
    _send({"type": "init-done", "durationMs": (time.time() - init_started) * 1000})
    if failure is not None:
        _finish({"type": "error", "error": failure})
    with open(EVENT_PATH, "rb") as source:
        event = json.loads(source.read().decode("utf-8"))
    context = LambdaContext(time.time() * 1000 + TIMEOUT_MS)
    try:
        result = handler(event, context)
    except BaseException as error:
        _finish({"type": "error", "error": _error(type(error).__name__, str(error), _frames(error.__traceback__.tb_next))})
    try:
        payload = json.dumps(result, default=_default, ensure_ascii=ENSURE_ASCII)
    except (TypeError, ValueError) as error:
        _finish({"type": "error", "error": _error("Runtime.MarshalError", "Unable to marshal response: %s" % error)})
    _finish({"type": "result", "payload": payload})


if __name__ == "__main__":
    _main()
