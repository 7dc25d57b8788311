/**
 * Runtime mode: the dependency archive plus `pylayer_runtime.py`, which extracts it into
 * /tmp at cold start. Run by `pylayer runtime` and by `pylayer build --mode runtime`.
 */
import type { RuntimeBundleResult } from "../coldstart/index.js";
import { usageError } from "../errors.js";
import { booleanOption, stringOption } from "./args.js";
import type { CommandContext } from "./main.js";
import { buildOptionsFromArgs } from "./options/pipeline.js";
import { showBuildEvents } from "./print/events.js";
import { shownPath } from "./print/paths.js";
import { formatBytes, formatDuration } from "./ui.js";

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
  if (stringOption(values, "extract") !== undefined) {
    throw usageError(
      "runtime mode does not take --extract",
      "Runtime mode writes an archive and pylayer_runtime.py into the -o folder; use --extract with --mode layer or --mode function.",
    );
  }
  const buildOptions = buildOptionsFromArgs(context);
  const { output, ...rest } = buildOptions;
  const s3 = stringOption(values, "archive-s3");
  const url = stringOption(values, "archive-url");
  const { buildRuntimeBundle } = await import("../coldstart/index.js");
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
      ...(result.plan.index === undefined ? {} : { index: result.plan.index }),
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
    `${green("wrote")} ${shownPath(context.cwd, archive.path)}  ${formatBytes(archive.size)} (${formatBytes(archive.unzippedSize)} unzipped, ${archive.fileCount} files)`,
  );
  ui.out(`${green("wrote")} ${shownPath(context.cwd, result.modulePath)}`);
  ui.out(dim(`  sha256 ${archive.sha256}`));
  ui.out(dim(`  the module looks in: ${result.sources.join(", ")}`));
  for (const path of result.removed)
    ui.info(dim(`removed the older archive ${shownPath(context.cwd, path)}`));
  ui.info(
    dim(
      `done in ${formatDuration(result.durationMs)}; start the handler module with "import pylayer_runtime"`,
    ),
  );
}
