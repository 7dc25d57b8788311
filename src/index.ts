/** pylayer's library API. The CLI (`src/cli`) is a thin layer over these exports. */

// Inputs: pyproject.toml, lock files (read and written), project defaults.
export {
  type AttachFunctionResult,
  type AttachOptions,
  type AttachResult,
  type AwsCredentials,
  type AwsEvent,
  type AwsOptions,
  attachLayer,
  decidePublish,
  inspectLayerZip,
  type LayerVersionInfo,
  type LayerZipInfo,
  type ListLayersOptions,
  type ListLayersResult,
  listLayers,
  type PruneOptions,
  type PrunePlan,
  type PruneResult,
  type PublishOptions,
  type PublishRegionResult,
  type PublishResult,
  planAttach,
  planPrune,
  pruneLayers,
  publishLayer,
  resolveEndpoint,
  resolveRegions,
} from "./aws/index.js";
export {
  applyPlan,
  type BuildInput,
  type BuildOptions,
  type BuildPlan,
  type BuildResult,
  buildLayer,
  discoverInput,
  type ExportRequirementsResult,
  exportRequirements,
  INPUT_FILES,
  type LockLayerOptions,
  type LockLayerResult,
  lockLayer,
  type PlanContext,
  planBuild,
  planFromLock,
  planLayer,
  type ZipReport,
} from "./build/index.js";
export { Cache, defaultCacheDir } from "./cache/index.js";
export {
  BASE_LIBRARIES,
  type BaseLibrary,
  type CheckEvent,
  type CheckOptions,
  type CheckResult,
  checkLayer,
  type ElfInfo,
  FINDING_CODES,
  type Finding,
  type FindingCode,
  type ImportOutcome,
  type ImportTestReport,
  identifyBinary,
  type OsFacts,
  osFacts,
  parseElf,
  type Severity,
  type SizeReport,
  UNZIPPED_LIMIT,
  type VersionNeed,
  ZIPPED_DIRECT_UPLOAD_LIMIT,
} from "./check/index.js";
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
export {
  findInterpreter,
  type Interpreter,
  type InvokeOptions,
  type InvokeResult,
  invokeHandler,
  type LambdaError,
} from "./invoke/index.js";
export { decodeManifest, encodeManifest, type LayerManifest } from "./layer/index.js";
export {
  chooseWheel,
  formatPylock,
  formatRequirements,
  type LockedFile,
  type LockedPackage,
  type LockFile,
  type LockFormat,
  type LockRequest,
  readLockFile,
  targetsMarker,
} from "./lock/index.js";
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
  expandDependencyGroup,
  loadProjectDefaults,
  mergeProjectDefaults,
  PROJECT_DEFAULT_KEYS,
  type ProjectDefaults,
  type ProjectRequirements,
  parsePoetryConstraint,
  poetryConstraintToPep440,
  projectRequirements,
  readPyproject,
} from "./pyproject/index.js";
export {
  mergeRequirements,
  type ParsedRequirements,
  parseRequirementsFile,
  parseRequirementsText,
  type RequirementLine,
  type RequirementsOptions,
} from "./requirements/index.js";
export { type ResolverProvider, resolve } from "./resolver/index.js";
export {
  type Architecture,
  type LambdaRuntime,
  makeTarget,
  makeTargets,
  markerEnvironment,
  RUNTIMES,
  type Target,
} from "./runtime/index.js";
export { compatibleTags, parseWheelFilename, TagSelector, tagToString } from "./tags/index.js";
export { type InstallPlan, layoutFor, planWheelInstall } from "./wheel/index.js";
export { type PlannedEntry, writeDeterministicZip, ZipReader } from "./zip/index.js";
