/** Wheel metadata, layer layouts and the install plan of a wheel. */
export { parseScriptEntryPoints, type ScriptEntryPoint } from "./entry-points.js";
export { type InstallPlan, planWheelInstall } from "./install.js";
export { type Layout, type LayoutKind, layoutFor } from "./layout.js";
export {
  type CoreMetadata,
  findDistInfo,
  normalizeDistributionName,
  parseCoreMetadata,
  parseHeaders,
  parseWheelFilename,
  parseWheelInfo,
  readWheelMetadata,
  sameVersion,
  type WheelFilename,
  type WheelInfo,
} from "./metadata.js";
export { formatRecord, parseRecord, type RecordRow, recordHash } from "./record.js";
export { entryPointScript, hasPythonShebang, rewritePythonScript } from "./scripts.js";
