/** pylayer's library API. The CLI (`src/cli`) is a thin layer over these exports. */

export { Cache, defaultCacheDir } from "./cache/index.js";
export {
  type ArchiveFacts,
  buildRuntimeBundle,
  describeArchive,
  type PinnedWheel,
  type PipSnippetConfig,
  type PipSnippetOptions,
  type PipSnippetResult,
  pipSnippet,
  RUNTIME_MODULE_NAME,
  type RuntimeArchive,
  type RuntimeBundleOptions,
  type RuntimeBundleResult,
  type RuntimeModuleConfig,
  renderPipSnippet,
  renderRuntimeModule,
} from "./coldstart/index.js";
export { isPylayerError, PylayerError, redactCredentials, redactUrl } from "./errors.js";
export {
  type DistributionFile,
  IndexClient,
  type IndexClientOptions,
  type IndexEvent,
  type IndexSettings,
  type ProjectListing,
  resolveIndexSettings,
} from "./index/index.js";
export { SpecifierSet, Version } from "./pep440/index.js";
export {
  evaluateMarker,
  isValidName,
  type Marker,
  markerToString,
  normalizeExtra,
  normalizeName,
  parseMarker,
  parseRequirement,
  type Requirement,
  requirementToString,
} from "./pep508/index.js";
export {
  mergeRequirements,
  type ParsedRequirements,
  parseRequirementsFile,
  parseRequirementsText,
  type RequirementLine,
  type RequirementsOptions,
} from "./requirements/index.js";
export {
  type Architecture,
  type LambdaRuntime,
  makeTarget,
  makeTargets,
  markerEnvironment,
  RUNTIMES,
  type Target,
} from "./runtime/index.js";
