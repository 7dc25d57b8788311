/** Temporary folders and an environment that keeps tests away from the machine's pip settings. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { afterAll } from "vitest";

const folders: string[] = [];

/** A fresh folder, removed after the test file. */
export async function temporaryFolder(prefix = "pylayer-test-"): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  folders.push(folder);
  return folder;
}

afterAll(async () => {
  await Promise.all(
    folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })),
  );
});

/**
 * An environment with no pip/uv settings of the machine: no config files
 * (PIP_CONFIG_FILE=/dev/null, as pip does for os.devnull), HOME in a temporary folder.
 */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    PIP_CONFIG_FILE: "/dev/null",
    PYLAYER_CACHE_DIR: join(home, "cache"),
    ...extra,
  };
}

/** Entry name → bytes of a zip on disk (fflate, independent of src/zip). */
export async function unzipFile(path: string): Promise<Record<string, Uint8Array>> {
  return unzipSync(new Uint8Array(await readFile(path)));
}
