/** Temporary folders and an environment that keeps tests away from the machine's pip settings. */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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

/** Writes the files of a zip under `folder` (fflate, independent of src/zip; no modes). */
export async function extractZip(zipPath: string, folder: string): Promise<void> {
  for (const [name, bytes] of Object.entries(await unzipFile(zipPath))) {
    if (name.endsWith("/")) continue;
    const target = join(folder, name);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
}

/**
 * Writes a tree of files under `root`: path → text (mode 0644), or text with a mode.
 * Folders are made as needed.
 */
export async function writeTree(
  root: string,
  files: Record<string, string | { text: string; mode: number }>,
): Promise<void> {
  for (const [path, value] of Object.entries(files)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    const { text, mode } = typeof value === "string" ? { text: value, mode: 0o644 } : value;
    await writeFile(target, text);
    await chmod(target, mode);
  }
}
