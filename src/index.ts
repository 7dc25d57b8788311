/** pylayer's library API. The CLI (`src/cli`) is a thin layer over these exports. */

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
