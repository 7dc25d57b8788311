/**
 * Runtime mode: dependencies loaded into /tmp at cold start instead of a layer. The
 * archive and `pylayer_runtime.py` (`bundle.ts`, `module.ts`), and the hardened pip
 * snippet for people who keep pip at cold start (`pip-snippet.ts`).
 */
export {
  type ArchiveFacts,
  buildRuntimeBundle,
  describeArchive,
  type RuntimeArchive,
  type RuntimeBundleOptions,
  type RuntimeBundleResult,
  runtimeArchiveName,
  runtimeModeTarget,
  runtimeSources,
} from "./bundle.js";
export { RUNTIME_MODULE_NAME, type RuntimeModuleConfig, renderRuntimeModule } from "./module.js";
export {
  type PinnedWheel,
  type PipSnippetConfig,
  type PipSnippetOptions,
  type PipSnippetResult,
  pipSnippet,
  renderPipSnippet,
} from "./pip-snippet.js";
