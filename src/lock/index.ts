/**
 * Lock files as build inputs (pylock.toml, uv.lock, poetry.lock, Pipfile.lock), and
 * writing pylock.toml and pinned requirements from a resolved build.
 */
export { lockFormatFromContent, type ReadLockFileOptions, readLockFile } from "./detect.js";
export { sortTargets, targetEnvironmentMarker, targetsMarker } from "./markers.js";
export { lockFormatFromName, PYLOCK_NAME } from "./names.js";
export {
  PIPENV_DEFAULT_SOURCE,
  parsePipfileLock,
  pipfileHashes,
  readPipfileLock,
} from "./pipfile.js";
export { parsePoetryLock, poetryContentHash, readPoetryLock } from "./poetry.js";
export { parsePylock, readPylock } from "./pylock.js";
export { pythonJsonDumps } from "./python-json.js";
export type {
  IndexLookup,
  LockedFile,
  LockedPackage,
  LockFile,
  LockFormat,
  LockRequest,
} from "./types.js";
export { parseUvLock, readUvLock } from "./uv.js";
export { chooseWheel, type WheelChoice, type WheelSelection } from "./wheels.js";
export {
  type ExportPackageInput,
  formatPylock,
  formatRequirements,
  type LockPackageInput,
  type LockWheelInput,
} from "./write.js";
