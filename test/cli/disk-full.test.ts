/**
 * Issue 19, point 13: a full disk is a `disk-full` error naming the path being written,
 * not a network error. The full disk is a 256 KiB tmpfs mounted in a private mount
 * namespace (`unshare -m` as root, `unshare -Urm` otherwise); where the machine allows
 * neither, the test is skipped with that reason.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PYLAYER_BIN } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const unshareArgs = process.getuid?.() === 0 ? ["-m"] : ["-Urm"];
const canMount =
  spawnSync(
    "unshare",
    [...unshareArgs, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || exit 1"],
    { encoding: "utf8" },
  ).status === 0;

let server: IndexServer;

beforeAll(async () => {
  server = await startIndexServer([
    buildWheel({
      name: "bulky",
      version: "1.0",
      files: { "bulky/__init__.py": "", "bulky/data.bin": randomBytes(1024 * 1024) },
    }),
  ]);
});
afterAll(async () => {
  await server?.close();
});

/** Runs `pylayer ARGS` with a 256 KiB tmpfs mounted on `full` (in its own mount namespace). */
function runWithFullDisk(
  full: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stderr: string }> {
  // Asynchronous: the index server runs in this process and must keep answering.
  const child = spawn(
    "unshare",
    [
      ...unshareArgs,
      "sh",
      "-c",
      'mount -t tmpfs -o size=256k tmpfs "$1" && shift && exec "$@"',
      "sh",
      full,
      process.execPath,
      PYLAYER_BIN,
      ...args,
    ],
    { cwd, env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

describe.skipIf(!canMount)("a full disk (point 13)", () => {
  it.each([
    ["the output", (full: string) => ["-o", join(full, "layer.zip"), "--no-cache"]],
    ["the cache (a download)", (full: string) => ["--cache-dir", join(full, "cache")]],
  ])("writing %s fails with disk-full naming the path", async (_label, extra) => {
    const home = await temporaryFolder();
    const cwd = await temporaryFolder();
    const full = join(cwd, "full");
    await mkdir(full);
    const result = await runWithFullDisk(
      full,
      ["build", "bulky", "-i", server.url, ...extra(full)],
      cwd,
      isolatedEnv(home),
    );
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain("[disk-full]");
    expect(result.stderr).toContain(`no space left to write ${full}/`);
    expect(result.stderr).not.toMatch(/\[network|internal error/);
  });
});
