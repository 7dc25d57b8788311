/**
 * What a planning command writes: packages left out, files slimmed away, and `--dry-run`
 * (plan only). The `--output` flag itself differs per command and stays with each.
 */
import type { OptionSpec } from "../args.js";

export const EXCLUDE_OPTIONS: Record<string, OptionSpec> = {
  exclude: {
    type: "string",
    multiple: true,
    valueName: "NAME",
    description: "Leave a package out of the zip (still resolved)",
  },
  "exclude-runtime-provided": {
    type: "boolean",
    description: "Leave out boto3, botocore, s3transfer and jmespath (the runtime has them)",
  },
};

export const DRY_RUN_OPTIONS: Record<string, OptionSpec> = {
  "dry-run": { type: "boolean", description: "Resolve and print the plan; write nothing" },
};

export const SLIM_OPTIONS: Record<string, OptionSpec> = {
  slim: {
    type: "boolean",
    description:
      "Remove what Lambda does not need: __pycache__, test suites nothing imports, .pyi stubs, .dist-info extras (--verbose lists each file)",
  },
  "slim-pattern": {
    type: "string",
    multiple: true,
    valueName: "GLOB",
    description: "Also remove files or folders matching GLOB, e.g. '*.md' (implies --slim)",
  },
};
