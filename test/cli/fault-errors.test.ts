/**
 * Issue 19, points 3, 13, 14 and 15, through the executable: errors that say what
 * happened (a code, the path or file:line, a hint), never "internal error", never a
 * credential.
 */
import { spawnSync } from "node:child_process";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PYLAYER_BIN, runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer([
    buildWheel({
      name: "app",
      version: "1.0",
      files: { "app/__init__.py": `DATA = ${JSON.stringify("abc".repeat(4000))}\n` },
    }),
  ]);
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

const build = (cwd: string, extra: string[], env = isolatedEnv(home)) =>
  runCli(["build", "app", "-i", server.url, ...extra], { cwd, env });

describe("usage errors (points 13, 14)", () => {
  it.each<[string, string[], RegExp]>([
    ["--runtime with an empty value", ["--runtime", ""], /--runtime was given an empty value/],
    ["an index URL with an unknown scheme", ["-i", "htp://example.org/simple"], /"htp:\/\/"/],
    [
      "an index without a scheme but with credentials",
      ["-i", "alice:s3cret-token@example.org/simple"],
      /\*\*\*@example\.org\/simple has credentials but no scheme/,
    ],
    [
      "an extra index with an unknown scheme and credentials",
      ["--extra-index-url", "htp://alice:s3cret-token@example.org/simple"],
      /htp:\/\/\*\*\*@example\.org/,
    ],
  ])("%s exits 2 without leaking credentials", async (_label, args, message) => {
    const cwd = await temporaryFolder();
    const result = await runCli(["build", "app", ...args], { cwd, env: isolatedEnv(home) });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain("[usage]");
    expect(result.stderr).not.toContain("s3cret-token");
    expect(result.stderr).not.toContain("internal error");
  });

  it("refuses -o under a path that is a file (usage error naming it)", async () => {
    const cwd = await temporaryFolder();
    await writeFile(join(cwd, "notes"), "a file");
    const result = await build(cwd, ["-o", "notes/layer.zip"]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`${join(cwd, "notes")} is a file, not a folder`);
  });
});

describe("an unwritable cache folder (point 13)", () => {
  it("fails with cache-unwritable naming the folder when it is under a file", async () => {
    const cwd = await temporaryFolder();
    const blocker = join(cwd, "blocker");
    await writeFile(blocker, "");
    const cacheDir = join(blocker, "cache");
    const result = await build(cwd, ["--cache-dir", cacheDir]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`the cache folder ${cacheDir} cannot be written`);
    expect(result.stderr).toContain("[cache-unwritable]");
    expect(result.stderr).toMatch(/--cache-dir.*--no-cache/);
    // --no-cache, as the hint says, builds.
    const withoutCache = await build(cwd, ["--cache-dir", cacheDir, "--no-cache"]);
    expect(withoutCache.code, withoutCache.stderr).toBe(0);
  });

  // Root ignores permission bits through CAP_DAC_OVERRIDE: as root, pylayer runs with that
  // capability (and CAP_DAC_READ_SEARCH) dropped from its bounding set, so the folder's mode
  // applies to it while it can still reach a checkout only root may enter.
  const asRoot = process.getuid?.() === 0;
  const setpriv = spawnSync("setpriv", ["--version"]).status === 0;
  it.skipIf(asRoot && !setpriv)(
    "fails with cache-unwritable when the cache folder is read-only",
    async () => {
      const cwd = await temporaryFolder();
      const cacheDir = join(cwd, "readonly-cache");
      await mkdir(cacheDir);
      await chmod(cacheDir, 0o555);
      const args = [PYLAYER_BIN, "build", "app", "-i", server.url, "--cache-dir", cacheDir];
      const env = isolatedEnv(cwd);
      const result = asRoot
        ? spawnSync(
            "setpriv",
            ["--bounding-set=-dac_override,-dac_read_search", process.execPath, ...args],
            { cwd, env, encoding: "utf8" },
          )
        : spawnSync(process.execPath, args, { cwd, env, encoding: "utf8" });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(`the cache folder ${cacheDir} cannot be written`);
      expect(result.stderr).toContain("[cache-unwritable]");
      expect(result.stderr).not.toContain("internal error");
    },
  );
});

describe("requirement files (point 15)", () => {
  it("names the file and line of a requirement whose project does not exist", async () => {
    const root = await temporaryFolder();
    const cwd = join(root, "a", "b");
    await mkdir(cwd, { recursive: true });
    await writeFile(join(root, "x.txt"), "# shared requirements\napp\nvm\n");
    const result = await build(cwd, ["-r", "../../x.txt"]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/x\.txt:3: No project named "vm"/);
  });
});

describe("pylayer check on a damaged zip (point 3)", () => {
  it("reports each corrupt entry by name as an error and leaves no temporary folder", async () => {
    const cwd = await temporaryFolder();
    const built = await build(cwd, ["-o", "layer.zip", "--no-check"]);
    expect(built.code, built.stderr).toBe(0);
    const zipPath = join(cwd, "layer.zip");
    const bytes = await readFile(zipPath);
    // Flip a byte inside the compressed data of one entry (after its local header).
    const nameAt = bytes.indexOf("app/__init__.py");
    bytes[nameAt + 60] = bytes[nameAt + 60]! ^ 0xff;
    await writeFile(zipPath, bytes);
    const temporary = await temporaryFolder();
    const result = await runCli(["check", zipPath, "--json"], {
      cwd,
      env: { ...isolatedEnv(home), TMPDIR: temporary },
    });
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as {
      findings: { code: string; severity: string; file?: string; message: string }[];
    };
    const corrupt = report.findings.filter((finding) => finding.code === "corrupt-entry");
    expect(corrupt).toHaveLength(1);
    const [finding] = corrupt;
    expect(finding!.severity).toBe("error");
    expect(finding!.message).toContain(`entry "${finding!.file}"`);
    expect(finding!.message).toMatch(/CRC-32|deflate|holds \d+ bytes/);
    expect(await readdir(temporary)).toEqual([]);
  });
});
