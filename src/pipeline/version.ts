/** pylayer's own version, for cache keys of things its code decides (plans, layer bytes). */
import { readFile } from "node:fs/promises";

let packageVersion: Promise<string> | undefined;

/** The version in pylayer's package.json, two folders up from both src/pipeline and dist/*. */
export function pylayerVersion(): Promise<string> {
  packageVersion ??= readFile(new URL("../../package.json", import.meta.url), "utf8").then(
    (text) => String((JSON.parse(text) as { version?: unknown }).version),
    () => "unknown",
  );
  return packageVersion;
}
