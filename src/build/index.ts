/** `buildLayer`: plan (resolve, or read a lock), then apply (download, install, zip). */
import { applyPlan } from "./apply.js";
import { planLayer } from "./inputs.js";
import type { BuildOptions, BuildResult } from "./types.js";

export { applyPlan } from "./apply.js";
export { discoverInput, INPUT_FILES, type PlanLayerOptions, planLayer } from "./inputs.js";
export { planFromLock } from "./lock-plan.js";
export {
  type ExportRequirementsResult,
  exportRequirements,
  type LockLayerOptions,
  type LockLayerResult,
  lockLayer,
} from "./lock-write.js";
export { type PlanContext, planBuild } from "./plan.js";
export type * from "./types.js";

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
  const { zips, warnings } = await applyPlan(plan, context, options.onEvent);
  return {
    plan,
    zips,
    warnings: [...plan.warnings, ...warnings],
    durationMs: performance.now() - started,
  };
}
