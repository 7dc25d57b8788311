/** `pylayer check`: find what would break a layer on Lambda, before deploying it. */
import { homedir } from "node:os";
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
    "Check a layer zip (or a function package with its layers) for a Lambda runtime: layout, native code (CPU, glibc, libstdc++, shared libraries), Python packaging, imports and sizes.",
  usage: [
    "check LAYER.zip [--runtime R]... [--arch A]... [--import MODULE]... [--json]",
    "check FUNCTION.zip [--handler MODULE.FUNCTION] [--layer LAYER.zip]... [--runtime R] [--arch A]",
  ],
  positionals: "ZIP",
  options: {
    layer: {
      type: "string",
      multiple: true,
      valueName: "ZIP",
      description:
        "A layer of the function, in the function's order (up to 5): sizes add up against 250 MB, packages in several places are compared",
    },
    handler: {
      type: "string",
      valueName: "MODULE.FUNCTION",
      description:
        "The function's handler, checked to exist and load (default: the zip's manifest, else lambda_function.lambda_handler)",
    },
    function: {
      type: "boolean",
      description:
        "The zip is a function package (extracted to /var/task), for zips not built by pylayer; implied by --layer and --handler",
    },
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
    "cache-dir": {
      type: "string",
      valueName: "DIR",
      description:
        "Cache folder, where the result of a zip checked before is reused (default: PYLAYER_CACHE_DIR or the platform cache folder)",
    },
    "no-cache": {
      type: "boolean",
      description: "Neither reuse nor store check results",
    },
  },
  examples: [
    "pylayer check layer.zip",
    "pylayer check layer.zip --runtime python3.11 --arch arm64",
    "pylayer check other-tool.zip --runtime python3.12 --import pydantic --import numpy",
    "pylayer check layer.zip --json | jq '.findings[] | select(.severity == \"error\")'",
    "pylayer check function.zip --layer deps.zip --layer tools.zip",
    "pylayer check other-tool-function.zip --handler app.handler --runtime python3.12",
  ],
  notes: [
    "Exit status: 1 when any error-level finding exists (the layer would fail on Lambda); warnings alone exit 0.",
    "A function package (pylayer build --mode function, or --function) is checked as Lambda extracts it to /var/task: the handler's module exists and loads, no source module shadows a dependency's top-level name. With --layer, the function and its layers must fit the 250 MB unzipped limit together, and a package in more than one place with different versions is reported with the copy that wins by sys.path order (/var/task, then /opt/python/lib/python3.X/site-packages, then /opt/python; a later layer overwrites an earlier one's files).",
    "The import test runs where this machine can: Linux of the layer's architecture with a local CPython of the runtime's version. Everything else is read statically, for any target.",
    "The static result of a zip is kept in the cache by the zip's sha256, targets and options: checking the same bytes again reuses it (the import test always runs again).",
  ],
};

export function checkOptionsFromArgs(context: CommandContext): CheckOptions {
  const { values } = context;
  const importTimeoutSeconds = positiveNumberOption(values, "import-timeout", {
    example: "120",
  });
  const python = stringOption(values, "python");
  const handler = stringOption(values, "handler");
  const layers = listOption(values, "layer", false);
  const cacheDir = stringOption(values, "cache-dir");
  return {
    ...(booleanOption(values, "function") ? { kind: "function" as const } : {}),
    ...(handler === undefined ? {} : { handler }),
    ...(layers.length === 0 ? {} : { layers }),
    runtimes: listOption(values, "runtime"),
    architectures: listOption(values, "arch"),
    imports: listOption(values, "import"),
    importTest: !booleanOption(values, "no-import-test"),
    ...(python === undefined ? {} : { python }),
    ...(importTimeoutSeconds === undefined ? {} : { importTimeoutSeconds }),
    ...(cacheDir === undefined || booleanOption(values, "no-cache") ? {} : { cacheDir }),
    env: context.env,
  };
}

export async function run(context: CommandContext): Promise<number> {
  const { ui, positionals } = context;
  if (positionals.length !== 1) {
    throw usageError(
      positionals.length === 0
        ? "no zip given"
        : "check takes one zip (layers of a function go with --layer)",
      "Usage: pylayer check LAYER.zip [--runtime R] [--arch A], or pylayer check FUNCTION.zip --layer LAYER.zip",
    );
  }
  const options = checkOptionsFromArgs(context);
  if (options.cacheDir === undefined && !booleanOption(context.values, "no-cache")) {
    const { defaultCacheDir } = await import("../../cache/index.js");
    options.cacheDir = defaultCacheDir(context.env, process.platform, homedir());
  }
  options.onEvent = (event) =>
    event.type === "warning" ? ui.warn(event.message) : ui.progress(event.message);
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
