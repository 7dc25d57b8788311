/** `pylayer build` runs the check on what it wrote: exit 1 on an error, the zip still written. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";
import { FIXTURE_DIR } from "./fixtures.js";

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer([
    // A wheel that claims x86_64 but carries an aarch64 extension module (a broken upload).
    buildWheel({
      name: "mislabelled",
      version: "1.0",
      tag: "cp311-cp311-manylinux_2_17_x86_64",
      files: {
        "mislabelled/__init__.py": "",
        "mislabelled/_native.cpython-311-x86_64-linux-gnu.so": readFileSync(
          join(FIXTURE_DIR, "aarch64-extension.so"),
        ),
      },
    }),
    buildWheel({ name: "plain", version: "2.0", files: { "plain/__init__.py": "VALUE = 2\n" } }),
    buildWheel({
      name: "raises",
      version: "1.0",
      files: { "raises/__init__.py": "raise RuntimeError('configuration missing')\n" },
    }),
  ]);
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

describe("pylayer build runs pylayer check", () => {
  it("exits 1 and prints the finding when the layer would not work, but still writes the zip", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(
      ["build", "mislabelled", "--runtime", "python3.11", "-i", server.url],
      { cwd, env: { ...isolatedEnv(home), NO_COLOR: "1" } },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/wrote layer\.zip/);
    expect(result.stdout).toContain("check layer.zip (python3.11-x86_64)");
    expect(result.stdout).toContain("[elf-wrong-machine; python3.11-x86_64, mislabelled 1.0]");
    expect(existsSync(join(cwd, "layer.zip"))).toBe(true);
  });

  it("puts the reports in --json and skips them with --no-check", async () => {
    const cwd = await temporaryFolder();
    const json = await runCli(
      ["build", "mislabelled", "--runtime", "python3.11", "-i", server.url, "--json"],
      { cwd, env: isolatedEnv(home) },
    );
    const output = JSON.parse(json.stdout);
    expect(json.code).toBe(1);
    expect(output.ok).toBe(false);
    expect(output.checks[0].findings.map((finding: { code: string }) => finding.code)).toContain(
      "elf-wrong-machine",
    );
    const unchecked = await runCli(
      ["build", "mislabelled", "--runtime", "python3.11", "-i", server.url, "--no-check"],
      { cwd, env: isolatedEnv(home) },
    );
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).not.toContain("check layer.zip");
  });

  it("exits 0 for a layer without errors", async () => {
    const cwd = await temporaryFolder();
    const good = await runCli(["build", "plain", "--runtime", "python3.12", "-i", server.url], {
      cwd,
      env: { ...isolatedEnv(home), NO_COLOR: "1" },
    });
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("✓ 0 errors, 0 warnings");
  });

  it("imports the modules only with --check-imports (the import test takes seconds)", async () => {
    const cwd = await temporaryFolder();
    const env = { ...isolatedEnv(home), NO_COLOR: "1" };
    const quick = await runCli(["build", "raises", "--runtime", "python3.11", "-i", server.url], {
      cwd,
      env,
    });
    expect(quick.code).toBe(0);
    const thorough = await runCli(
      ["build", "raises", "--runtime", "python3.11", "-i", server.url, "--check-imports"],
      { cwd, env },
    );
    expect(thorough.code).toBe(1);
    expect(thorough.stdout).toContain("RuntimeError: configuration missing");
  });
});
