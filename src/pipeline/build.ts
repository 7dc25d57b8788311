/** `buildLayer`: plan (resolve, or read a lock), then apply (download, install, zip). */

import type { Cache } from "../cache/index.js";
import type { WheelFactsMemo, ZipSources } from "../check/reuse.js";
import type { CheckResult } from "../check/types.js";
import { PylayerError } from "../errors.js";
import { applyPlan } from "./apply.js";
import { planLayer } from "./inputs.js";
import type { BuildOptions, BuildResult, ZipReport } from "./types.js";

/**
 * Builds the layer zip(s), or with `function` the function package zip(s). The input is
 * what the options name (requirements, `pyproject`, `lock`), else the first input file
 * found in `cwd` (see INPUT_FILES), or in the function's source folder.
 *
 * A function package: `buildLayer({ function: { source: "src", handler: "app.handler",
 * exclude: ["tests"] }, runtimes: ["python3.12"], architectures: ["arm64"], output:
 * "function.zip" })` writes the dependencies and the files of `src` at the zip root, byte
 * for byte the same for the same inputs; `zips[0].function` reports the source files and
 * the handler. The CLI's equivalent is `pylayer build --mode function --source src
 * --handler app.handler --source-exclude tests`.
 */
export async function buildLayer(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const { plan, context } = await planLayer(options);
  try {
    if (options.dryRun) {
      return { plan, zips: [], warnings: plan.warnings, durationMs: performance.now() - started };
    }
    const { zips, warnings, zipSources, counters } = await applyPlan(
      plan,
      context,
      options.onEvent,
      {
        slim: options.slim,
        slimPatterns: options.slimPatterns,
        compile: options.compile,
      },
    );
    // Compiled code built on this machine is checked against the runtime (glibc and
    // libstdc++ symbol versions, machine, linked libraries) whether or not --check was given.
    const nativeBuilt = zips.filter((zip) =>
      plan.targets.some(
        (target) =>
          zip.targets.includes(target.id) &&
          target.packages.some(
            (item) => item.source !== undefined && !item.pure && item.excluded === undefined,
          ),
      ),
    );
    const known = { cache: context.cache ?? null, zipSources };
    const checks = options.check ? await checkZips(zips, options, known) : undefined;
    const nativeChecks =
      checks ?? (nativeBuilt.length > 0 ? await checkZips(nativeBuilt, options, known) : []);
    const failed = nativeChecks.filter(
      (check) => !check.ok && nativeBuilt.some((zip) => zip.path === check.path),
    );
    if (failed.length > 0) {
      const findings = failed.flatMap((check) =>
        check.findings
          .filter((finding) => finding.severity === "error")
          .map((finding) => finding.message),
      );
      throw new PylayerError(
        "native-sdist-check-failed",
        `compiled code built from source does not fit the runtime:\n${findings.join("\n")}`,
        {
          hint: "Build on a machine whose glibc is not newer than the runtime's (e.g. the runtime's container image), or use a release with manylinux wheels.",
        },
      );
    }
    return {
      plan,
      zips,
      warnings: [...plan.warnings, ...warnings],
      durationMs: performance.now() - started,
      ...(checks === undefined ? {} : { checks }),
      ...(context.cache
        ? {
            cache: {
              resolution: context.resolutionReused ? "reused" : "resolved",
              ...counters,
            },
          }
        : {}),
    };
  } finally {
    await context.sources?.dispose().catch(() => undefined);
  }
}

/**
 * Checks each written zip for the targets it was built for (the check is loaded only when
 * asked for). A zip checked before (same bytes and targets) is answered from the cache of
 * check results; a new one reads only the wheels whose facts are not cached.
 */
async function checkZips(
  zips: ZipReport[],
  options: BuildOptions,
  known: { cache: Cache | null; zipSources: Map<string, ZipSources> },
): Promise<CheckResult[]> {
  const { checkLayerWith } = await import("../check/index.js");
  const results: CheckResult[] = [];
  const wheelFacts: WheelFactsMemo = new Map();
  for (const zip of zips) {
    options.onEvent?.({ type: "phase", phase: "check", message: `Checking ${zip.path}` });
    const sources = known.zipSources.get(zip.path);
    results.push(
      await checkLayerWith(
        zip.path,
        {
          runtimes: zip.runtimes,
          architectures: zip.architectures,
          // The import test extracts the layer and starts interpreters: seconds, not
          // milliseconds, so a build runs it only when asked.
          importTest: options.checkImports === true,
          ...(options.env === undefined ? {} : { env: options.env }),
          onEvent: (event) =>
            options.onEvent?.(
              event.type === "warning"
                ? { type: "warning", message: event.message }
                : { type: "progress", message: event.message },
            ),
        },
        {
          cache: known.cache,
          sha256: zip.sha256,
          wheelFacts,
          ...(sources === undefined
            ? {}
            : { wheels: sources.wheels, generated: sources.generated }),
        },
      ),
    );
  }
  return results;
}
