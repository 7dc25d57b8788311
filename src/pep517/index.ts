/** PEP 517/518 source builds and PEP 643 static sdist metadata. */
export {
  BUILT_WHEELS_KEPT,
  type BuildRequirementInstaller,
  type BuildSystem,
  type BuiltWheel,
  type ConfigSettings,
  hashTree,
  LEGACY_BACKEND,
  listTree,
  type MetadataOrigin,
  readBuildSystem,
  type SourceBuildEvent,
  SourceBuilder,
  type SourceBuilderOptions,
  settingsKey,
} from "./builder.js";
export { addConfigSetting } from "./config-settings.js";
export {
  type BuildPython,
  type FindBuildPythonOptions,
  findBuildPython,
  probePython,
} from "./python.js";
export { parseSdistFilename, sdistPkgInfo, staticMetadata } from "./sdist.js";
export { type ArchiveFile, extractArchive, readArchive, readTar, topFolder } from "./tar.js";
