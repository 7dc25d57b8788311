/** `buildLayer`: plan (resolve), then apply (download, install, zip). */
import { applyPlan } from "./apply.js";
import { planBuild } from "./plan.js";
import type { BuildOptions, BuildResult } from "./types.js";

export { applyPlan } from "./apply.js";
export { type PlanContext, planBuild } from "./plan.js";
export type * from "./types.js";

export async function buildLayer(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const { plan, context } = await planBuild(options);
  if (options.dryRun) {
    return { plan, zips: [], warnings: plan.warnings, durationMs: performance.now() - started };
  }
  const { zips, warnings } = await applyPlan(plan, context, options.onEvent, {
    slim: options.slim,
    slimPatterns: options.slimPatterns,
    compile: options.compile,
  });
  return {
    plan,
    zips,
    warnings: [...plan.warnings, ...warnings],
    durationMs: performance.now() - started,
  };
}
