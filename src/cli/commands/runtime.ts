/**
 * `pylayer runtime`: the dependency archive plus `pylayer_runtime.py`, which extracts it
 * into /tmp at cold start; or, with --pip-snippet, the hardened pip-at-cold-start snippet.
 * `pylayer build --mode runtime` runs the same code (`runtime-mode.ts`).
 */
import { usageError } from "../../errors.js";
import { booleanOption, type CommandSpec } from "../args.js";
import type { CommandContext } from "../main.js";
import { PROJECT_FILE_OPTIONS, REQUIREMENT_FILE_OPTIONS } from "../options/inputs.js";
import { DRY_RUN_OPTIONS, EXCLUDE_OPTIONS, SLIM_OPTIONS } from "../options/output.js";
import { CACHE_OPTIONS, INDEX_OPTIONS } from "../options/package-index.js";
import { buildOptionsFromArgs } from "../options/pipeline.js";
import { SOURCE_BUILD_OPTIONS } from "../options/source-build.js";
import { TARGET_OPTIONS } from "../options/targets.js";
import { showBuildEvents } from "../print/events.js";
import { withProjectDefaults } from "../project-defaults.js";
import { runRuntimeMode } from "../runtime-mode.js";

export const spec: CommandSpec = {
  name: "runtime",
  summary:
    "Write a dependency archive and pylayer_runtime.py, which extracts it into /tmp at cold start (or print a hardened pip snippet).",
  usage: [
    "runtime [REQUIREMENT...] [-r FILE] [--runtime R] [--arch A] [-o DIR] [--archive-s3 URI] [--archive-url URL]",
    "runtime --lock FILE | --pyproject FILE [--extra NAME]... [--group NAME]... [-o DIR]",
    "runtime    (in a project folder: uses pylock.toml, uv.lock, poetry.lock, Pipfile.lock, pyproject.toml or requirements.txt)",
    "runtime --pip-snippet [REQUIREMENT...] [-r FILE] [--runtime R] [--arch A]",
  ],
  positionals: "[REQUIREMENT...]",
  options: {
    ...REQUIREMENT_FILE_OPTIONS,
    ...PROJECT_FILE_OPTIONS,
    ...TARGET_OPTIONS,
    ...EXCLUDE_OPTIONS,
    ...INDEX_OPTIONS,
    ...SOURCE_BUILD_OPTIONS,
    ...CACHE_OPTIONS,
    ...DRY_RUN_OPTIONS,
    ...SLIM_OPTIONS,
    output: {
      type: "string",
      short: "o",
      valueName: "DIR",
      description: "Folder for the archive and pylayer_runtime.py (default build/)",
    },
    "archive-s3": {
      type: "string",
      valueName: "URI",
      description:
        "The module also looks in s3://bucket/key (a key ending in / gets the archive name)",
    },
    "archive-url": {
      type: "string",
      valueName: "URL",
      description: "The module also downloads https://… (a URL ending in / gets the archive name)",
    },
    "no-bundled": {
      type: "boolean",
      description: "The module does not look for the archive in the function package",
    },
    "pip-snippet": {
      type: "boolean",
      description: "Print a pinned, hash-checked pip-at-cold-start snippet instead",
    },
  },
  examples: [
    "pylayer runtime -r requirements.txt --runtime python3.12 --arch x86_64 -o build/",
    "pylayer runtime -r requirements.txt --runtime python3.12 --archive-s3 s3://my-bucket/deps/ --no-bundled",
    "pylayer runtime --lock pylock.toml -o build/",
    "pylayer runtime --pip-snippet -r requirements.txt --runtime python3.11 > snippet.py",
  ],
  notes: [
    "Takes the same inputs as build: requirements, -r/-c files, --pyproject, --lock (installed as locked; without --runtime/--arch, the one target the lock declares), or the input found in the current folder; and the project defaults of pylayer.toml / [tool.pylayer].",
    "Ship pylayer_runtime.py with the handler and start the handler module with `import pylayer_runtime`. On a cold start it verifies the archive's sha256, extracts it into /tmp/pylayer/<hash>/ atomically and puts it on sys.path where a layer would be; warm starts only check that the folder exists. Use it past the 250 MiB layer limit (/tmp holds up to 10 GB).",
  ],
};

export async function run(commandContext: CommandContext): Promise<number> {
  const context = await withProjectDefaults(commandContext, spec);
  if (booleanOption(context.values, "pip-snippet")) return runPipSnippet(context);
  return runRuntimeMode(context);
}

async function runPipSnippet(context: CommandContext): Promise<number> {
  const { ui, values } = context;
  for (const flag of ["archive-s3", "archive-url", "output", "layout"]) {
    if (values[flag] !== undefined) {
      throw usageError(
        `--${flag} does not apply to --pip-snippet`,
        "The snippet is printed on stdout.",
      );
    }
  }
  if (booleanOption(values, "dry-run") || booleanOption(values, "no-bundled")) {
    throw usageError("--dry-run and --no-bundled do not apply to --pip-snippet");
  }
  const { dryRun: _dryRun, output: _output, ...options } = buildOptionsFromArgs(context);
  const { pipSnippet } = await import("../../coldstart/index.js");
  const result = await pipSnippet({
    ...options,
    onEvent: showBuildEvents(ui),
  });
  ui.clearProgress();
  if (ui.json) {
    ui.outJson({
      ok: true,
      target: result.target,
      pins: result.pins,
      excluded: result.excluded,
      snippet: result.snippet,
      warnings: result.warnings,
    });
    return 0;
  }
  for (const warning of result.warnings) ui.warn(warning);
  ui.out(result.snippet.trimEnd());
  return 0;
}
