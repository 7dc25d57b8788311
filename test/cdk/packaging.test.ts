/**
 * `pylayer/cdk` is an optional integration: the plain CLI never loads aws-cdk-lib or
 * constructs (optional peer dependencies a CLI user does not install), and the subpath
 * export loads from ESM and from CommonJS (a `cdk init` TypeScript app is CommonJS).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PYLAYER_BIN } from "../helpers/cli.js";
import { temporaryFolder } from "../helpers/sandbox.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const CDK_IMPORT =
  /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](?:aws-cdk-lib|constructs)(?:\/[^"']*)?["']/;

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.(?:ts|js|mjs|cjs)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("pylayer/cdk packaging", () => {
  it("keeps aws-cdk-lib and constructs out of the CLI bundle and out of src/ beyond src/cdk", async () => {
    const bundle = await filesUnder(join(root, "dist", "bundle"));
    expect(bundle.length).toBeGreaterThan(0);
    for (const file of bundle) expect(await readFile(file, "utf8")).not.toMatch(CDK_IMPORT);
    const importers: string[] = [];
    for (const file of await filesUnder(join(root, "src"))) {
      if (CDK_IMPORT.test(await readFile(file, "utf8"))) importers.push(relative(root, file));
    }
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((file) => !file.startsWith(join("src", "cdk")))).toEqual([]);
  });

  it("loads no aws-cdk-lib or constructs module for pylayer --help or a command's --help", async () => {
    const hook = join(await temporaryFolder(), "report-loaded.cjs");
    await writeFile(
      hook,
      `process.on("exit", () => {
  const loaded = Object.keys(require.cache).filter((key) => /[\\\\/]node_modules[\\\\/](aws-cdk-lib|constructs)[\\\\/]/.test(key));
  process.stderr.write("cdk-modules-loaded=" + loaded.length + "\\n");
});\n`,
    );
    const loaded = (args: string[]) => {
      const run = spawnSync(process.execPath, ["--require", hook, ...args], { encoding: "utf8" });
      return /cdk-modules-loaded=(\d+)/.exec(run.stderr)?.[1];
    };
    // The hook sees CommonJS modules loaded through ESM imports (the control).
    expect(
      Number(loaded(["--input-type=module", "-e", 'await import("aws-cdk-lib/aws-lambda")'])),
    ).toBeGreaterThan(0);
    expect(loaded([PYLAYER_BIN, "--help"])).toBe("0");
    expect(loaded([PYLAYER_BIN, "build", "--help"])).toBe("0");
  });

  it("loads pylayer/cdk by its package name from ESM and CommonJS", () => {
    const esm = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const m = await import("pylayer/cdk"); console.log(typeof m.PythonLayerVersion)',
      ],
      { cwd: root, encoding: "utf8" },
    );
    expect(esm.trim()).toBe("function");
    const require = createRequire(join(root, "package.json"));
    const cjs = require("pylayer/cdk") as { PythonLayerVersion: unknown };
    expect(typeof cjs.PythonLayerVersion).toBe("function");
  });
});
