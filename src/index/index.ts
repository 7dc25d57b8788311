/**
 * Package index access: settings (flags, pip/uv environment, pip.conf), the simple
 * API parsers (PEP 503 / 691 / 592 / 658 / 714), and the IndexClient.
 */
export { DEFAULT_MINIMUM_SPEED, IndexClient, type IndexClientOptions } from "./client.js";
export { CredentialStore, stripCredentials, type TokenCredential } from "./http.js";

export {
  DEFAULT_RESPONSE_LIMITS,
  RESPONSE_LIMIT_VARIABLES,
  type ResponseLimits,
  responseLimitsFromEnv,
} from "./limits.js";
export {
  isSourceDistributionFilename,
  isWheelFilename,
  normalizeProjectName,
  projectNameFromFilename,
} from "./names.js";
export { defaultNetrcPath, loadNetrc, type Netrc, parseNetrc } from "./netrc.js";
export {
  type ConfigurationIndexSettings,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_SECONDS,
  type IndexFlags,
  indexRootUrl,
  locationToUrl,
  PYPI_SIMPLE_URL,
  parseIniFile,
  pipConfigFilePaths,
  type ResolveIndexSettingsInput,
  resolveIndexSettings,
} from "./settings.js";
export {
  decodeHtmlEntities,
  parseSimpleHtml,
  parseSimpleJson,
  parseSimplePage,
  SIMPLE_ACCEPT,
} from "./simple.js";
export {
  type ConfiguredIndex,
  type DistributionFile,
  INDEX_STRATEGIES,
  type IndexEvent,
  type IndexSettings,
  type IndexStrategy,
  type ProjectListing,
} from "./types.js";
export {
  openFileRangeReader,
  type RangeReader,
  readWheelMetadata,
  ZIP_TAIL_LENGTH,
} from "./wheel-metadata.js";
