/**
 * Lock file formats by file name. Apart from the readers so that finding a build's input
 * does not load them.
 */
import { basename } from "node:path";
import type { LockFormat } from "./types.js";

/** PEP 751 file names: `pylock.toml` and `pylock.<name>.toml`. */
export const PYLOCK_NAME = /^pylock\.([^.]+\.)?toml$/;

export function lockFormatFromName(path: string): LockFormat | undefined {
  const name = basename(path);
  if (PYLOCK_NAME.test(name)) return "pylock";
  if (name === "uv.lock") return "uv";
  if (name === "poetry.lock") return "poetry";
  if (name === "Pipfile.lock") return "pipfile";
  return undefined;
}
