/** The layer factory: manifests of layers × runtimes × architectures × regions, built and published item by item. */
export { isRetryable, RETRYABLE_ERROR_NAME, RetryableItemError, reportError } from "./errors.js";
export {
  BUILDER_MEMORY_MB,
  defaultConcurrency,
  type LocalRunOptions,
  RETRY_POLICY,
  type ResultRow,
  resultRows,
  runFactoryLocal,
} from "./local.js";
export {
  DEFAULT_NAME_TEMPLATE,
  expandManifest,
  type FactoryManifest,
  layerNameFor,
  readManifest,
} from "./manifest.js";
export {
  type FactoryPlan,
  type PlanAction,
  type PlannedItem,
  type PlannedRegion,
  planFactory,
} from "./plan.js";
export {
  type LayerRecord,
  RECORD_PARTITION_KEY,
  RECORD_SORT_KEY,
  RecordTable,
  recordTarget,
} from "./records.js";
export { itemFingerprint, runWorkItem } from "./run-item.js";
export {
  itemsBucketOf,
  runOnStateMachine,
  STATE_INPUT_LIMIT,
  type StateMachineRunOptions,
  type StateMachineRunResult,
  writtenResults,
} from "./state-machine.js";
export {
  type ErrorReport,
  type FactorySettings,
  type ItemResult,
  type RegionOutcome,
  type RegionStatus,
  unattemptedResult,
  type WorkInput,
  type WorkItem,
  type WorkOptions,
} from "./types.js";
export { SharedWheelCache, wheelCacheKey } from "./wheel-cache.js";
