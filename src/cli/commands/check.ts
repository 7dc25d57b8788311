/** `pylayer check`: find what would break a layer on Lambda, before deploying it. */
import type { CheckOptions } from "../../check/index.js";
import { usageError } from "../../errors.js";
import {
  booleanOption,
  type CommandSpec,
  listOption,
  positiveNumberOption,
  stringOption,
} from "../args.js";
import type { CommandContext } from "../main.js";
import { printCheckResult } from "../print/check.js";

export const spec: CommandSpec = {
  name: "check",
  summary:
    "Check a layer zip for a Lambda runtime: layout, native code (CPU, glibc, libstdc++, shared libraries), Python packaging, imports and sizes.",
  usage: ["check LAYER.zip [--runtime R]... [--arch A]... [--import MODULE]... [--json]"],
  positionals: "LAYER.zip",
  options: {
    runtime: {
      type: "string",
      multiple: true,
      valueName: "RUNTIME",
      description: "Runtime to check for, python3.9 … python3.14 (default: the zip's manifest)",
    },
    arch: {
      type: "string",
      multiple: true,
      valueName: "ARCH",
      description: "x86_64 or arm64 (default: the zip's manifest, else x86_64)",
    },
    import: {
      type: "string",
      multiple: true,
      valueName: "MODULE",
      description: "Module to import in the import test (default: every top-level module)",
    },
    "no-import-test": {
      type: "boolean",
      description: "Skip the import test (static checks only)",
    },
    python: {
      type: "string",
      valueName: "PATH",
      description: "Interpreter for the import test (default: python3.X on PATH, pyenv or uv)",
    },
    "import-timeout": {
      type: "string",
      valueName: "SECONDS",
      description: "Time one import may take (default 60)",
    },
  },
  examples: [
    "pylayer check layer.zip",
    "pylayer check layer.zip --runtime python3.11 --arch arm64",
    "pylayer check other-tool.zip --runtime python3.12 --import pydantic --import numpy",
    "pylayer check layer.zip --json | jq '.findings[] | select(.severity == \"error\")'",
  ],
  notes: [
    "Exit status: 1 when any error-level finding exists (the layer would fail on Lambda); warnings alone exit 0.",
    "The import test runs where this machine can: Linux of the layer's architecture with a local CPython of the runtime's version. Everything else is read statically, for any target.",
  ],
};

export function checkOptionsFromArgs(context: CommandContext): CheckOptions {
  const { values } = context;
  const importTimeoutSeconds = positiveNumberOption(values, "import-timeout", {
    example: "120",
  });
  const python = stringOption(values, "python");
  return {
    runtimes: listOption(values, "runtime"),
    architectures: listOption(values, "arch"),
    imports: listOption(values, "import"),
    importTest: !booleanOption(values, "no-import-test"),
    ...(python === undefined ? {} : { python }),
    ...(importTimeoutSeconds === undefined ? {} : { importTimeoutSeconds }),
    env: context.env,
  };
}

export async function run(context: CommandContext): Promise<number> {
  const { ui, positionals } = context;
  if (positionals.length !== 1) {
    throw usageError(
      positionals.length === 0 ? "no layer zip given" : "check takes one layer zip",
      "Usage: pylayer check LAYER.zip [--runtime R] [--arch A]",
    );
  }
  const options = checkOptionsFromArgs(context);
  options.onEvent = (event) => ui.progress(event.message);
  const { checkLayer } = await import("../../check/index.js");
  const result = await checkLayer(positionals[0]!, options);
  ui.clearProgress();
  if (ui.json) {
    ui.outJson(result);
  } else {
    printCheckResult(ui, result);
  }
  return result.ok ? 0 : 1;
}
