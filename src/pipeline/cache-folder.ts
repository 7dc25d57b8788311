/**
 * The cache folder a build uses: `--cache-dir`, else the platform default, or none with
 * `--no-cache`. It is checked up front, so that a folder pylayer cannot write fails the
 * build at once with an error naming it, rather than later as a puzzling failure
 * (pylayer does not fall back to a cache-less build: that would make every build slow
 * without saying why for long).
 */
import { homedir } from "node:os";
import { Cache, defaultCacheDir } from "../cache/index.js";
import { fileSystemError, PylayerError } from "../errors.js";

export async function openCache(
  options: { cacheDir?: string; noCache?: boolean },
  env: NodeJS.ProcessEnv,
): Promise<Cache | null> {
  if (options.noCache) return null;
  const cache = new Cache(options.cacheDir ?? defaultCacheDir(env, process.platform, homedir()));
  try {
    await cache.prepare();
  } catch (error) {
    const known = fileSystemError(error, cache.root);
    const reason = known?.message ?? (error as Error).message;
    if (known?.code === "disk-full") throw known;
    throw new PylayerError(
      "cache-unwritable",
      `the cache folder ${cache.root} cannot be written: ${reason}`,
      {
        hint: "Choose a writable cache folder with --cache-dir DIR (or PYLAYER_CACHE_DIR), or build without one with --no-cache.",
        cause: error,
      },
    );
  }
  return cache;
}
