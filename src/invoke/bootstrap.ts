/**
 * The Python side of `pylayer invoke` (standard library only): it plays the part of the
 * Lambda Python runtime's bootstrap for one invocation.
 *
 * Behaviour follows the runtime interface client of the Python runtimes
 * (aws/aws-lambda-python-runtime-interface-client, `bootstrap.py` and `lambda_context.py`):
 * the handler string is split at its last dot and the module imported with `/` read as
 * `.`; import failures become `Runtime.ImportModuleError`, syntax errors
 * `Runtime.UserCodeSyntaxError`, a missing function `Runtime.HandlerNotFound`, a bad
 * handler string `Runtime.MalformedHandlerName`; a result that is not JSON becomes
 * `Runtime.MarshalError` (Decimal values are written as numbers, as the runtime does). An
 * exception from the handler is returned as `errorMessage`, `errorType`, `requestId` and
 * `stackTrace` (one string per frame). The root logger gets the runtime's record format.
 *
 * Talking to pylayer: JSON lines on file descriptor 3 (`init-done`, then `result` or
 * `error`), so that the function's own output on stdout and stderr stays log output.
 *
 * The program is `bootstrap.py` in this folder; this module fills in its parameters.
 */
import { pythonAssignments, pythonSource, withParameters } from "../python-sources.js";
import { lambdaPythonProgram } from "./environment.js";

export interface BootstrapParameters {
  taskRoot: string;
  optDir: string;
  pythonPathExtra: string[];
  handler: string;
  eventPath: string;
  requestId: string;
  invokedFunctionArn: string;
  timeoutMs: number;
  /** Python runtimes from 3.12 write the response without escaping non-ASCII characters. */
  ensureAscii: boolean;
}

/** The program for `python3.X -I -S -B -c`: bootstrap.py with this invocation's parameters. */
export function bootstrapSource(parameters: BootstrapParameters): string {
  return lambdaPythonProgram(
    withParameters(
      pythonSource("invoke/bootstrap.py"),
      pythonAssignments({
        TASK_ROOT: parameters.taskRoot,
        OPT_DIR: parameters.optDir,
        PYTHON_PATH_EXTRA: parameters.pythonPathExtra,
        HANDLER: parameters.handler,
        EVENT_PATH: parameters.eventPath,
        REQUEST_ID: parameters.requestId,
        INVOKED_FUNCTION_ARN: parameters.invokedFunctionArn,
        TIMEOUT_MS: Math.round(parameters.timeoutMs),
        ENSURE_ASCII: parameters.ensureAscii,
      }),
    ),
  );
}
