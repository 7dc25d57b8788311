/**
 * `pylayer/serverless`: a Serverless Framework v3 plugin (`plugins: [pylayer/serverless]`)
 * that builds Python functions' packages, or one shared layer, with pylayer instead of
 * serverless-python-requirements: no Docker, the target's own wheels, deterministic zips.
 * Needs the optional peer dependency `serverless`; nothing else in pylayer loads this.
 */
import { PylayerServerlessPlugin } from "./plugin.js";

export {
  inputOptions,
  MIGRATION_HINTS,
  type PylayerServerlessOptions,
  pythonRequirementsWarning,
  readOptions,
} from "./config.js";
export { type PluginUtilities, PylayerServerlessPlugin, type Serverless } from "./plugin.js";
export {
  LAYER_LOGICAL_ID,
  LAYER_NAME,
  layerLogicalId,
  type PackageGroup,
  type PythonFunction,
  packageGroups,
  pythonFunctions,
  type ServerlessService,
} from "./service.js";

/** The framework loads a plugin module's default export. */
export default PylayerServerlessPlugin;
