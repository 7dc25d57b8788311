/** Which reader a lock file needs, by its name (or, for other names, by its content). */
import { PylayerError } from "../errors.js";
import { readTextFile } from "../pyproject/toml.js";
import { lockFormatFromName } from "./names.js";
import { readPipfileLock } from "./pipfile.js";
import { readPoetryLock } from "./poetry.js";
import { readPylock } from "./pylock.js";
import type { LockFile, LockFormat } from "./types.js";
import { readUvLock } from "./uv.js";

/** Guesses the format of a lock file with another name from its first bytes. */
export function lockFormatFromContent(text: string): LockFormat | undefined {
  const start = text.trimStart();
  if (start.startsWith("{")) return "pipfile";
  if (/^\s*lock-version\s*=/m.test(text) && /^\s*created-by\s*=/m.test(text)) return "pylock";
  if (/^\s*\[metadata\]/m.test(text) && /content-hash|lock-version/.test(text)) return "poetry";
  if (/^\s*version\s*=\s*\d+/m.test(text) && /^\s*\[\[package\]\]/m.test(text)) return "uv";
  return undefined;
}

export interface ReadLockFileOptions {
  /** Compare the lock with the project file next to it where the format allows (default true). */
  checkFresh?: boolean;
}

/** Reads any supported lock file. */
export async function readLockFile(
  path: string,
  options: ReadLockFileOptions = {},
): Promise<LockFile> {
  let format = lockFormatFromName(path);
  if (format === undefined) {
    format = lockFormatFromContent(await readTextFile(path, "lock file"));
  }
  switch (format) {
    case "pylock":
      return readPylock(path);
    case "uv":
      return readUvLock(path, options);
    case "poetry":
      return readPoetryLock(path, options);
    case "pipfile":
      return readPipfileLock(path, options);
    default:
      throw new PylayerError("unknown-lock-format", `${path} is not a lock file pylayer knows`, {
        hint: "pylayer reads pylock.toml (PEP 751), uv.lock, poetry.lock and Pipfile.lock.",
      });
  }
}
