/**
 * `pylayer runtime`: the dependency archive plus `pylayer_runtime.py`, which extracts it
 * into /tmp at cold start; or, with --pip-snippet, the hardened pip-at-cold-start snippet.
 * `pylayer build --mode runtime` runs the same code (`runRuntimeMode`).
 */
import { relative } from "node:path";
import type { RuntimeBundleResult } from "../../coldstart/index.js";
import { usageError } from "../../errors.js";
import { booleanOption, type CommandSpec, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { formatBytes, formatDuration } from "../ui.js";
import { buildOptionsFromArgs, spec as buildSpec, showBuildEvents } from "./build.js";

/** The resolution options `pylayer build` has, shared as they are. */
const SHARED_OPTION_NAMES = [
  "requirement",
  "constraint",
  "runtime",
  "arch",
  "exclude",
  "exclude-runtime-provided",
  "index-url",
  "extra-index-url",
  "find-links",
  "no-index",
  "pre",
  "cache-dir",
  "no-cache",
  "refresh",
  "dry-run",
  "slim",
  "slim-pattern",
];
const sharedOptions = Object.fromEntries(
  SHARED_OPTION_NAMES.map((name) => [name, buildSpec.options[name]!]),
);

export const spec: CommandSpec = {
  name: "runtime",
  summary:
    "Write a dependency archive and pylayer_runtime.py, which extracts it into /tmp at cold start (or print a hardened pip snippet).",
  usage: [
    "runtime [REQUIREMENT...] [-r FILE] [--runtime R] [--arch A] [-o DIR] [--archive-s3 URI] [--archive-url URL]",
    "runtime --pip-snippet [REQUIREMENT...] [-r FILE] [--runtime R] [--arch A]",
  ],
  positionals: "[REQUIREMENT...]",
  options: {
    ...sharedOptions,
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
    "pylayer runtime --pip-snippet -r requirements.txt --runtime python3.11 > snippet.py",
  ],
  notes: [
    "Ship pylayer_runtime.py with the handler and start the handler module with `import pylayer_runtime`. On a cold start it verifies the archive's sha256, extracts it into /tmp/pylayer/<hash>/ atomically and puts it on sys.path where a layer would be; warm starts only check that the folder exists. Use it past the 250 MB layer limit (/tmp holds up to 10 GB).",
  ],
};

export async function run(context: CommandContext): Promise<number> {
  if (booleanOption(context.values, "pip-snippet")) return runPipSnippet(context);
  return runRuntimeMode(context);
}

/** Writes the runtime bundle; used by `pylayer runtime` and `pylayer build --mode runtime`. */
export async function runRuntimeMode(context: CommandContext): Promise<number> {
  const { ui, values } = context;
  if (stringOption(values, "publish") !== undefined) {
    throw usageError(
      "runtime mode builds no layer to publish",
      "Leave out --publish, or use --mode layer.",
    );
  }
  if (stringOption(values, "layout") !== undefined) {
    throw usageError(
      "runtime mode always uses the python layout",
      "Leave out --layout: the archive extracts to <tmp>/pylayer/<hash>/python.",
    );
  }
  if (booleanOption(values, "compile")) {
    throw usageError(
      "runtime mode does not take --compile",
      "Leave out --compile: the archive is extracted to a writable /tmp folder, where Python caches its own bytecode on the first import.",
    );
  }
  const buildOptions = buildOptionsFromArgs(context);
  const { output, ...rest } = buildOptions;
  const s3 = stringOption(values, "archive-s3");
  const url = stringOption(values, "archive-url");
  const { buildRuntimeBundle } = await import("../../coldstart/index.js");
  const result = await buildRuntimeBundle({
    ...rest,
    ...(output === undefined ? {} : { outputDir: output }),
    ...(s3 === undefined ? {} : { s3 }),
    ...(url === undefined ? {} : { url }),
    bundled: !booleanOption(values, "no-bundled"),
    onEvent: showBuildEvents(ui),
  });
  ui.clearProgress();
  if (ui.json) {
    ui.outJson({
      ok: true,
      dryRun: buildOptions.dryRun === true,
      target: result.target,
      archive: result.archive,
      module: result.modulePath,
      sources: result.sources,
      packages: result.packages,
      excluded: result.excluded,
      removed: result.removed,
      warnings: result.warnings,
      durationMs: Math.round(result.durationMs),
    });
    return 0;
  }
  printBundle(context, result);
  return 0;
}

function printBundle(context: CommandContext, result: RuntimeBundleResult): void {
  const { ui } = context;
  const { bold, dim, green } = ui.colors;
  for (const warning of result.warnings) ui.warn(warning);
  ui.out(bold(`${result.target}: ${result.packages.length} packages`));
  for (const item of result.packages) ui.out(`  ${item.name} ${item.version}  ${dim(item.tag)}`);
  for (const item of result.excluded) {
    ui.out(`  ${item.name} ${item.version}  ${dim(`(excluded: ${item.reason})`)}`);
  }
  if (result.archive === undefined || result.modulePath === undefined) {
    ui.out(
      `would write deps-<hash>.zip and pylayer_runtime.py (sources: ${result.sources.join(", ")})`,
    );
    return;
  }
  const archive = result.archive;
  ui.out(
    `${green("wrote")} ${shown(context, archive.path)}  ${formatBytes(archive.size)} (${formatBytes(archive.unzippedSize)} unzipped, ${archive.fileCount} files)`,
  );
  ui.out(`${green("wrote")} ${shown(context, result.modulePath)}`);
  ui.out(dim(`  sha256 ${archive.sha256}`));
  ui.out(dim(`  the module looks in: ${result.sources.join(", ")}`));
  for (const path of result.removed)
    ui.info(dim(`removed the older archive ${shown(context, path)}`));
  ui.info(
    dim(
      `done in ${formatDuration(result.durationMs)}; start the handler module with "import pylayer_runtime"`,
    ),
  );
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

function shown(context: CommandContext, path: string): string {
  const relativeForm = relative(context.cwd, path);
  return relativeForm.startsWith("..") ? path : relativeForm;
}
