/** pylayer's library API. The CLI (`src/cli`) is a thin layer over these exports. */

export { Cache, defaultCacheDir } from "./cache/index.js";
// Size report, slimming and bytecode (issue 7).
export {
  bytecodePath,
  type CompileFailure,
  type CompileOptions,
  type CompileResult,
  compileEntries,
  findPython,
  isCompilable,
  type LocalPython,
} from "./compile/index.js";
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
  type AnalyzeOptions,
  analyzeLayer,
  LAMBDA_UNZIPPED_LIMIT,
  type LayerReport,
  type PackageUsage,
  type ReportFile,
  renderReportHtml,
  squarify,
} from "./report/index.js";
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
export {
  isHashBasedPyc,
  type KeptTestFolder,
  planSlim,
  type SlimFile,
  type SlimOptions,
  type SlimPlan,
  type SlimReason,
  type SlimRemoval,
  slimEntries,
  summarizeRemovals,
} from "./slim/index.js";
