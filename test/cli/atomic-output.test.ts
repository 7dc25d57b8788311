/**
 * Issue 19, points 4 and 5, through the executable: a build killed (SIGKILL) at any
 * instant of a cache-hit copy, or several builds writing one path at once, never leave a
 * partial layer.zip; the temporary files a killed build leaves are removed by the next one.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PYLAYER_BIN, runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

let server: IndexServer;
let home: string;
let cwd: string;
let goodSha256: string;
let goodSize: number;

const args = () => [
  "build",
  "bulky",
  "--runtime",
  "python3.12",
  "-i",
  server.url,
  "-o",
  "layer.zip",
];
const sha256Of = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
const temporaries = async (folder: string) =>
  (await readdir(folder)).filter((name) => name.endsWith(".tmp"));

beforeAll(async () => {
  // Incompressible content makes the copy of a cache hit take a while (tens of MB).
  server = await startIndexServer([
    buildWheel({
      name: "bulky",
      version: "1.0",
      files: {
        "bulky/__init__.py": "",
        "bulky/data.bin": randomBytes(40 * 1024 * 1024),
      },
    }),
  ]);
  home = await temporaryFolder();
  cwd = await temporaryFolder();
  const first = await runCli(args(), { cwd, env: isolatedEnv(home) });
  expect(first.code, first.stderr).toBe(0);
  goodSha256 = await sha256Of(join(cwd, "layer.zip"));
  goodSize = (await stat(join(cwd, "layer.zip"))).size;
}, 120_000);
afterAll(async () => {
  await server?.close();
});

/** Starts a build and SIGKILLs it once `when` resolves (or lets it finish first). */
function killedBuild(when: (pid: number) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PYLAYER_BIN, ...args()], {
      cwd,
      env: isolatedEnv(home),
      stdio: "ignore",
    });
    let exited = false;
    child.on("error", reject);
    child.on("exit", () => {
      exited = true;
      resolve();
    });
    void when(child.pid!).then(() => {
      if (!exited) child.kill("SIGKILL");
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves when the process `pid` is writing the output: a temporary file of its own
 * beside layer.zip, or layer.zip itself no longer the complete file (a copy in place).
 */
async function copying(pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && processRuns(pid)) {
    const names = await readdir(cwd).catch(() => [] as string[]);
    if (names.some((name) => name.startsWith(`.layer.zip.${pid}.`))) return;
    const size = await stat(join(cwd, "layer.zip")).then(
      (info) => info.size,
      () => -1,
    );
    if (size !== goodSize) return;
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("atomic outputs", () => {
  it("leaves the previous layer.zip intact when a cache-hit build is killed at any instant", async () => {
    // Instants spread over start-up, planning and the copy, and one while the copy is
    // known to be in progress (its temporary file exists).
    const instants: ((pid: number) => Promise<void>)[] = [
      ...[30, 120, 250, 400, 600, 900].map((ms) => async () => {
        await sleep(ms);
      }),
      copying,
      copying,
      copying,
      async (pid) => {
        await copying(pid);
        await sleep(5);
      },
    ];
    for (const instant of instants) {
      await killedBuild(instant);
      expect(existsSync(join(cwd, "layer.zip"))).toBe(true);
      expect(await sha256Of(join(cwd, "layer.zip"))).toBe(goodSha256);
    }
    // The next run removes what the killed ones left.
    const next = await runCli(args(), { cwd, env: isolatedEnv(home) });
    expect(next.code, next.stderr).toBe(0);
    expect(await temporaries(cwd)).toEqual([]);
    expect(await sha256Of(join(cwd, "layer.zip"))).toBe(goodSha256);
  }, 120_000);

  it("lets 4 concurrent warm builds to one path all succeed with a complete zip", async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => runCli(args(), { cwd, env: isolatedEnv(home) })),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    expect(await sha256Of(join(cwd, "layer.zip"))).toBe(goodSha256);
    expect(await temporaries(cwd)).toEqual([]);
  }, 120_000);
});
