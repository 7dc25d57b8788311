/**
 * What to resolve: requirement and constraint files, a pyproject.toml or a lock file with
 * its extras and groups. Taken by every command that plans like `build`.
 */

import { usageError } from "../../errors.js";
import type { BuildOptions } from "../../pipeline/index.js";
import { listOption, type OptionSpec, type ParsedValues, stringOption } from "../args.js";

export const REQUIREMENT_FILE_OPTIONS: Record<string, OptionSpec> = {
  requirement: {
    type: "string",
    short: "r",
    multiple: true,
    valueName: "FILE",
    description: "Read requirements from a pip requirements file",
  },
  constraint: {
    type: "string",
    short: "c",
    multiple: true,
    valueName: "FILE",
    description: "Constrain versions with a pip constraints file",
  },
};

export const PROJECT_FILE_OPTIONS: Record<string, OptionSpec> = {
  pyproject: {
    type: "string",
    valueName: "FILE",
    description:
      "Resolve the dependencies of a pyproject.toml (PEP 621, dependency groups, Poetry)",
  },
  lock: {
    type: "string",
    valueName: "FILE",
    description:
      "Install exactly what a lock file records: pylock.toml, uv.lock, poetry.lock or Pipfile.lock",
  },
  extra: {
    type: "string",
    multiple: true,
    valueName: "NAME",
    description: "Include an extra (optional dependencies) of the project or lock",
  },
  group: {
    type: "string",
    multiple: true,
    valueName: "NAME",
    description:
      "Include a dependency group of the project or lock (dev groups are left out otherwise)",
  },
};

/** `--pyproject`, `--lock`, `--extra`, `--group` as build options. */
export function projectFileOptions(
  values: ParsedValues,
): Pick<BuildOptions, "pyproject" | "lock" | "extras" | "groups"> {
  const pyproject = stringOption(values, "pyproject");
  const lock = stringOption(values, "lock");
  if (pyproject !== undefined && lock !== undefined) {
    throw usageError(
      "--pyproject and --lock cannot be used together",
      "A lock already records what the project needs; pass only --lock FILE.",
    );
  }
  return {
    ...(pyproject === undefined ? {} : { pyproject }),
    ...(lock === undefined ? {} : { lock }),
    extras: listOption(values, "extra"),
    groups: listOption(values, "group"),
  };
}
