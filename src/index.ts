/** pylayer's library API. The CLI (`src/cli`) is a thin layer over these exports. */
export { isPylayerError, PylayerError, redactCredentials, redactUrl } from "./errors.js";
export { SpecifierSet, Version } from "./pep440/index.js";
export {
  type Architecture,
  type LambdaRuntime,
  makeTarget,
  makeTargets,
  markerEnvironment,
  RUNTIMES,
  type Target,
} from "./runtime/index.js";
