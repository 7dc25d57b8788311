/**
 * The build pipeline: `buildLayer` (plan, then apply), its parts, and writing locks and
 * pinned requirements from a resolution. `build.ts` holds `buildLayer` apart from this
 * barrel so that a build loads none of the lock-file readers it does not use.
 */
export { applyPlan, reportPackages } from "./apply.js";
export { buildLayer } from "./build.js";
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
