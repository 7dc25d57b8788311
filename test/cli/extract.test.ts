/**
 * `pylayer build --extract DIR` (the SAM recipe's `$(ARTIFACTS_DIR)`): what it refuses,
 * with exit 2 and the `usage` code, before anything is built when the flags tell (after
 * resolution when only the plan does: how many zips a matrix needs), leaving DIR, the work
 * folder and the temporary folder as they were.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { indexForFile } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const server = await indexForFile([
  buildWheel({ name: "six", version: "1.17.0" }),
  buildWheel({ name: "fastthing", version: "1.0", tag: "cp312-cp312-manylinux_2_17_x86_64" }),
  buildWheel({ name: "fastthing", version: "1.0", tag: "cp312-cp312-manylinux_2_17_aarch64" }),
]);

interface Refusal {
  name: string;
  /** Flags after `build --extract DIR`: the requirement and the rest. */
  args: string[];
  /** Refused once resolved (how many zips a matrix writes is known only then). */
  afterResolution?: boolean;
  /** Prepares DIR (inside a fresh folder); returns nothing. */
  prepare?: (dir: string) => Promise<void>;
  /** `--extract` gets this path instead of DIR (relative to the work folder). */
  extractPath?: string;
  message: RegExp;
  hint: RegExp;
}

const refusals: Refusal[] = [
  {
    name: "with --dry-run (it writes nothing)",
    args: ["six", "--dry-run"],
    message: /--extract writes files; --dry-run writes none/,
    hint: /Drop one of the two/,
  },
  {
    name: "a matrix that writes several zips (one per architecture)",
    args: ["fastthing", "--runtime", "python3.12", "--arch", "x86_64", "--arch", "arm64"],
    afterResolution: true,
    message: /--extract needs one zip, and this build wrote 2/,
    hint: /one --runtime and one --arch/,
  },
  {
    name: "a folder that is not empty",
    args: ["six"],
    prepare: async (dir) => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "left-over.txt"), "from an earlier build\n");
    },
    message: /--extract \S+: the folder is not empty \(1 entries\)/,
    hint: /never deletes files there/,
  },
  {
    name: "a path that is a file",
    args: ["six"],
    prepare: async (dir) => {
      await writeFile(dir, "not a folder\n");
    },
    message: /--extract \S+: not a folder/,
    hint: /Name a folder/,
  },
  {
    name: "runtime mode (an archive and a module, not a folder of files)",
    args: ["six", "--mode", "runtime"],
    message: /runtime mode does not take --extract/,
    hint: /--mode layer or --mode function/,
  },
];

describe("build --extract DIR refusals", () => {
  it.each(refusals)("refuses $name with exit 2, writing nothing", async (refusal) => {
    const work = await temporaryFolder();
    const dir = join(work, "artifacts");
    await refusal.prepare?.(dir);
    const requestsBefore = server.requests.length;
    const temporary = await temporaryFolder();
    const before = existsSync(dir) ? await readdir(dir).catch(() => "a file") : "missing";
    const result = await runCli(["build", "--extract", dir, "--json", ...refusal.args], {
      cwd: work,
      env: isolatedEnv(await temporaryFolder(), { PIP_INDEX_URL: server.url, TMPDIR: temporary }),
    });
    expect(result.code, result.stderr).toBe(2);
    const error = (
      JSON.parse(result.stdout) as { error: { code: string; message: string; hint: string } }
    ).error;
    expect(error.code).toBe("usage");
    expect(error.message).toMatch(refusal.message);
    expect(error.hint).toMatch(refusal.hint);
    // Nothing was written: DIR and the work folder are unchanged (and, for what is known
    // from the flags, nothing was asked of the index).
    if (refusal.afterResolution !== true) expect(server.requests.length).toBe(requestsBefore);
    expect(existsSync(dir) ? await readdir(dir).catch(() => "a file") : "missing").toEqual(before);
    expect((await readdir(work)).filter((name) => name !== "artifacts")).toEqual([]);
    // Nor is anything left in the temporary folder (the zips of a refused matrix included).
    expect(await readdir(temporary)).toEqual([]);
  });

  it("extracts the one pure-Python zip of a matrix into a missing folder, keeping no zip without -o", async () => {
    const work = await temporaryFolder();
    const result = await runCli(
      [
        "build",
        "six",
        "--runtime",
        "python3.12",
        "--runtime",
        "python3.13",
        "--extract",
        "artifacts",
      ],
      {
        cwd: work,
        env: isolatedEnv(await temporaryFolder(), { PIP_INDEX_URL: server.url }),
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/extracted \d+ files into artifacts/);
    expect(await readdir(work)).toEqual(["artifacts"]);
    expect((await readdir(join(work, "artifacts", "python"))).sort()).toEqual([
      "six",
      "six-1.17.0.dist-info",
    ]);
  });
});
