/**
 * `build --mode function`: the function's source folder, handler and source excludes, read
 * into the pipeline's `FunctionSource`. `--exclude` already names packages, so globs of
 * source files have their own flag, `--source-exclude`.
 */
import { usageError } from "../../errors.js";
import type { FunctionSource } from "../../function/index.js";
import { listOption, type OptionSpec, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";

export const FUNCTION_OPTIONS: Record<string, OptionSpec> = {
  source: {
    type: "string",
    valueName: "DIR",
    description:
      "With --mode function: the function's source folder, zipped at the root next to the dependencies (default: the current folder)",
  },
  handler: {
    type: "string",
    valueName: "MODULE.FUNCTION",
    description:
      "With --mode function: the handler the check verifies and the manifest records (default lambda_function.lambda_handler)",
  },
  "source-exclude": {
    type: "string",
    multiple: true,
    valueName: "GLOB",
    description:
      "With --mode function: leave source files or folders matching GLOB out, e.g. 'tests' or '*.md' (VCS folders, __pycache__, virtualenvs, node_modules, cdk.out, .serverless are always left out)",
  },
};

const FUNCTION_FLAGS = ["source", "handler", "source-exclude"] as const;

/**
 * The function package asked for, or undefined for a layer. `--source`, `--handler` and
 * `--source-exclude` imply `--mode function` and are an error with another mode.
 */
export function functionSourceFromArgs(
  values: CommandContext["values"],
  mode: string | undefined,
): FunctionSource | undefined {
  const given = FUNCTION_FLAGS.filter((flag) => values[flag] !== undefined);
  if (mode !== "function") {
    if (given.length === 0) return undefined;
    if (mode !== undefined) {
      throw usageError(
        `--${given[0]} is for function packages, not --mode ${mode}`,
        "Use --mode function (or leave out --mode).",
      );
    }
  }
  const handler = stringOption(values, "handler");
  return {
    source: stringOption(values, "source") ?? ".",
    exclude: listOption(values, "source-exclude", false),
    ...(handler === undefined ? {} : { handler }),
  };
}
