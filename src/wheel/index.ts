/** Wheel metadata, layer layouts and the install plan of a wheel. */
export { parseScriptEntryPoints, type ScriptEntryPoint } from "./entry-points.js";
export { type InstallPlan, planWheelInstall } from "./install.js";
export {
  cachedInstallPlan,
  INSTALL_FORMAT,
  installPlanKey,
  restoreInstallPlan,
} from "./install-cache.js";
export { type Layout, type LayoutKind, layoutFor } from "./layout.js";
export {
  type CoreMetadata,
  findDistInfo,
  headerBlock,
  parseCoreMetadata,
  parseHeaders,
  parseWheelInfo,
  readWheelMetadata,
  sameVersion,
  type WheelInfo,
} from "./metadata.js";
export { formatRecord, parseRecord, type RecordRow, recordHash } from "./record.js";
export { entryPointScript, hasPythonShebang, rewritePythonScript } from "./scripts.js";
