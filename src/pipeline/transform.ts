/**
 * Optional steps between assembling a layer's entries and writing its zip: `slim`
 * (remove what Lambda does not need) and then `compile` (add unchecked-hash `.pyc`
 * files), in that order so that slimming never removes the bytecode pylayer adds.
 */
import type { LocalPython } from "../compile/index.js";
import type { Target } from "../runtime/index.js";
import type { EntryReader } from "../slim/index.js";
import type { PlannedEntry } from "../zip/index.js";
import type { BuildEvent, BuildOptions, ZipReport } from "./types.js";

export type TransformOptions = Pick<BuildOptions, "slim" | "slimPatterns" | "compile">;

export function wantsSlim(options: TransformOptions): boolean {
  return options.slim === true || (options.slimPatterns?.length ?? 0) > 0;
}

/**
 * The local Python of every runtime version among `targets`, found before anything is
 * downloaded so that a missing one fails the build at once. Empty without `compile`.
 */
export async function findCompilers(
  options: TransformOptions,
  targets: readonly Target[],
  env: NodeJS.ProcessEnv,
): Promise<Map<string, LocalPython>> {
  const pythons = new Map<string, LocalPython>();
  if (options.compile !== true) return pythons;
  const { findPython } = await import("../compile/index.js");
  const versions = [...new Set(targets.map((target) => target.runtime.python.join(".")))].sort();
  for (const version of versions) pythons.set(version, await findPython(version, env));
  return pythons;
}

/** Applies slim then compile to the entries of one output zip. */
export async function transformEntries(
  entries: PlannedEntry[],
  read: EntryReader,
  options: TransformOptions,
  pythons: readonly LocalPython[],
  onEvent: (event: BuildEvent) => void,
): Promise<{ entries: PlannedEntry[]; report: Pick<ZipReport, "slim" | "compile"> }> {
  const report: Pick<ZipReport, "slim" | "compile"> = {};
  let result = entries;
  if (wantsSlim(options)) {
    const { slimEntries, summarizeRemovals } = await import("../slim/index.js");
    onEvent({ type: "progress", message: "Slimming" });
    const slimmed = await slimEntries(result, read, { patterns: options.slimPatterns ?? [] });
    for (const removal of slimmed.removals) {
      onEvent({
        type: "detail",
        message: `slim: removed ${removal.path} (${removal.reason}${removal.detail === undefined ? "" : `: ${removal.detail}`})`,
      });
    }
    for (const folder of slimmed.keptTestFolders) {
      onEvent({
        type: "detail",
        message: `slim: kept ${folder.path}, imported by ${folder.importedBy}`,
      });
    }
    result = slimmed.entries;
    report.slim = {
      ...summarizeRemovals(slimmed.removals),
      keptTestFolders: slimmed.keptTestFolders,
    };
  }
  if (options.compile === true && pythons.length > 0) {
    const { compileEntries } = await import("../compile/index.js");
    onEvent({
      type: "progress",
      message: `Compiling bytecode with ${pythons.map((python) => `python${python.version}`).join(", ")}`,
    });
    const compiled = await compileEntries(result, read, { pythons });
    for (const failure of compiled.failures) {
      onEvent({
        type: "detail",
        message: `compile: ${failure.path} does not compile with Python ${failure.python} (${failure.message}); shipped without bytecode`,
      });
    }
    result = compiled.entries;
    report.compile = { compiled: compiled.compiled, failures: compiled.failures };
  }
  return { entries: result, report };
}
