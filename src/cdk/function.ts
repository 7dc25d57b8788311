/**
 * `PythonFunction`: a Lambda function whose zip is the function package pylayer builds at
 * synth time (`pylayer build --mode function`): the dependencies found in `entry` installed
 * at the zip root (`/var/task`) next to the files of `entry`.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import {
  Architecture,
  type FunctionOptions,
  Function as LambdaFunction,
  type Runtime,
} from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { PylayerError } from "../errors.js";
import { parseHandler } from "../function/index.js";
import { constructPath, pylayerCode, pythonRuntimeName } from "./bundle.js";
import type { BundlingOptions } from "./options.js";

/** Props shaped like `@aws-cdk/aws-lambda-python-alpha`'s `PythonFunctionProps`. */
export interface PythonFunctionProps extends FunctionOptions {
  /**
   * The function's folder: its files go to the zip root, and its dependency input
   * (requirements.txt, pyproject.toml or a lock file) is found there as `pylayer build` finds it.
   */
  readonly entry: string;
  /** A Python runtime (e.g. `Runtime.PYTHON_3_12`); wheels are chosen for it. */
  readonly runtime: Runtime;
  /** The handler's file, relative to `entry` (default `index.py`); `app/main.py` is module `app.main`. */
  readonly index?: string;
  /** The handler function's name in `index` (default `handler`). */
  readonly handler?: string;
  /** pylayer's build options (`slim`, `slimPatterns`, `compile` and `layout` are for layers only). */
  readonly bundling?: BundlingOptions;
}

export class PythonFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: PythonFunctionProps) {
    const { entry, runtime, index = "index.py", handler = "handler", bundling, ...options } = props;
    const construct = `PythonFunction ${constructPath(scope, id)}`;
    pythonRuntimeName(runtime);
    const lambdaHandler = handlerSetting(construct, entry, index, handler);
    super(scope, id, {
      ...options,
      runtime,
      handler: lambdaHandler,
      code: pylayerCode({
        construct,
        entry,
        runtimes: [runtime],
        // Lambda's default architecture when the function names none.
        architectures: [options.architecture ?? Architecture.X86_64],
        ...(bundling === undefined ? {} : { bundling }),
        functionHandler: lambdaHandler,
        severalZipsHint: "A function has one runtime and one architecture.",
      }),
    });
  }
}

/**
 * Lambda's handler setting for `index` and `handler`, as the alpha module makes it
 * (`app/main.py` + `handler` → `app.main.handler`), after checking that the file exists
 * inside `entry` and names an importable module.
 */
function handlerSetting(construct: string, entry: string, index: string, handler: string): string {
  const root = resolve(entry);
  const file = resolve(root, index);
  const inside = relative(root, file);
  if (!index.endsWith(".py") || inside.startsWith("..") || isAbsolute(inside)) {
    throw new PylayerError(
      "cdk-index-invalid",
      `${construct}: index ${index} is not a .py file inside entry ${root}`,
      { hint: "index is the handler's file relative to entry, e.g. index.py or app/main.py." },
    );
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new PylayerError(
      "cdk-index-missing",
      `${construct}: the index file ${file} does not exist`,
      {
        hint: "index is relative to entry (default index.py); point it at the file that defines the handler.",
      },
    );
  }
  const setting = `${inside.slice(0, -".py".length).split(sep).join(".")}.${handler}`;
  try {
    parseHandler(setting);
  } catch {
    throw new PylayerError(
      "cdk-handler-invalid",
      `${construct}: index ${index} and handler ${handler} do not name a Python function (${setting})`,
      {
        hint: "The folders and file name of index and the handler must be Python identifiers (letters, digits, _).",
      },
    );
  }
  return setting;
}
