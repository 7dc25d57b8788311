/** `buildLayer`: plan (resolve, or read a lock), then apply (download, install, zip). */

import type { CheckResult } from "../check/types.js";
import { applyPlan } from "./apply.js";
import { planLayer } from "./inputs.js";
import type { BuildOptions, BuildResult, ZipReport } from "./types.js";

/**
 * Builds the layer zip(s). The input is what the options name (requirements,
 * `pyproject`, `lock`), else the first input file found in `cwd` (see INPUT_FILES).
 */
export async function buildLayer(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const { plan, context } = await planLayer(options);
  if (options.dryRun) {
    return { plan, zips: [], warnings: plan.warnings, durationMs: performance.now() - started };
  }
  const { zips, warnings } = await applyPlan(plan, context, options.onEvent, {
    slim: options.slim,
    slimPatterns: options.slimPatterns,
    compile: options.compile,
  });
  const checks = options.check ? await checkZips(zips, options) : undefined;
  return {
    plan,
    zips,
    warnings: [...plan.warnings, ...warnings],
    durationMs: performance.now() - started,
    ...(checks === undefined ? {} : { checks }),
  };
}

/** Checks each written zip for the targets it was built for (the check is loaded only when asked for). */
async function checkZips(zips: ZipReport[], options: BuildOptions): Promise<CheckResult[]> {
  const { checkLayer } = await import("../check/index.js");
  const results: CheckResult[] = [];
  for (const zip of zips) {
    options.onEvent?.({ type: "phase", phase: "check", message: `Checking ${zip.path}` });
    results.push(
      await checkLayer(zip.path, {
        runtimes: zip.runtimes,
        architectures: zip.architectures,
        // The import test extracts the layer and starts interpreters: seconds, not
        // milliseconds, so a build runs it only when asked.
        importTest: options.checkImports === true,
        ...(options.env === undefined ? {} : { env: options.env }),
        onEvent: (event) => options.onEvent?.({ type: "progress", message: event.message }),
      }),
    );
  }
  return results;
}
