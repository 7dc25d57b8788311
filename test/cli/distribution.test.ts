/**
 * Getting pylayer (issue 18, point 18): the npm tarball holds exactly what runs and runs with
 * production dependencies only; the single executable (Node SEA, scripts/sea.mjs) runs with
 * no node_modules at all. Both build a layer from a loopback index.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { indexForFile } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const server = await indexForFile([
  buildWheel({ name: "greet", version: "1.2", files: { "greet/__init__.py": "HELLO = 1\n" } }),
]);
const home = await temporaryFolder();

/** Runs `command build greet …options` in a fresh folder whose pylayer.toml names the index (TOML read too); returns the folder. */
async function buildGreet(command: string[], options: string[]): Promise<string> {
  const cwd = await temporaryFolder();
  await writeFile(
    join(cwd, "pylayer.toml"),
    `runtime = "python3.12"\nindex-url = "${server.url}"\n`,
  );
  const [file, ...args] = command;
  await run(file!, [...args, "build", "greet", ...options], { cwd, env: isolatedEnv(home) });
  return cwd;
}

/** Builds a layer of `greet` with `command`. */
async function buildWith(command: string[]): Promise<Record<string, Uint8Array>> {
  const cwd = await buildGreet(command, ["-o", "layer.zip", "--no-check"]);
  return unzipFile(join(cwd, "layer.zip"));
}

describe("the npm tarball", () => {
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    const destination = await temporaryFolder();
    // dist/ is built by the test setup; --ignore-scripts skips prepack's second build.
    const { stdout } = await run(
      npm,
      ["pack", "--ignore-scripts", "--json", "--pack-destination", destination],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
    );
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(destination, packed!.filename);
    files = packed!.files.map((file) => file.path);
  }, 180_000);

  it("builds before packing and holds the bundle, the library and nothing else", async () => {
    const packageJson = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
      exports: Record<string, Record<string, string> | string>;
    };
    expect(packageJson.scripts.prepack).toMatch(/npm run build/);
    expect(files).toContain(packageJson.bin.pylayer);
    for (const target of Object.values(packageJson.exports).flatMap((entry) =>
      typeof entry === "string" ? [entry] : Object.values(entry),
    )) {
      expect(existsSync(join(root, target)), `${target} (package.json exports) is built`).toBe(
        true,
      );
      expect(files).toContain(target.replace(/^\.\//, ""));
    }
    const unexpected = files.filter(
      (path) =>
        !["package.json", "README.md", "LICENSE"].includes(path) &&
        (!path.startsWith("dist/") ||
          path.startsWith("dist/cli/") ||
          path.startsWith("dist/sea/") ||
          path.endsWith(".map")),
    );
    expect(unexpected).toEqual([]);
  });

  it("ships a bundle of ASCII text: one byte per character in V8, however the sources are written", async () => {
    // The precondition that makes this test mean something: the sources hold non-ASCII text.
    const source = await readFile(join(root, "src", "cli", "commands", "build.ts"));
    expect(source.some((byte) => byte > 0x7f)).toBe(true);
    const names = files.filter((path) => path.startsWith("dist/bundle/") && path.endsWith(".js"));
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) {
      const bytes = await readFile(join(root, name));
      const offset = bytes.findIndex((byte) => byte > 0x7f);
      expect(offset, `${name}: a non-ASCII byte at offset ${offset}`).toBe(-1);
    }
  });

  it("loads no dependency (nor node:tls) statically from the chunks every build loads (rolldown.config.mjs groups)", async () => {
    const names = files
      .filter((path) =>
        /^dist\/bundle\/(pylayer|(build|standards|zip|options)-[\w-]+)\.js$/.test(path),
      )
      .map((path) => path.slice("dist/bundle/".length));
    // The build command's own chunk and the pipeline's group are both named "build".
    const chunkNames = names.map((name) => name.replace(/-[\w-]+\.js$/, "").replace(/\.js$/, ""));
    expect(new Set(chunkNames)).toEqual(
      new Set(["build", "options", "pylayer", "standards", "zip"]),
    );
    expect(chunkNames.filter((name) => name === "build")).toHaveLength(2);
    for (const name of names) {
      const code = await readFile(join(root, "dist", "bundle", name), "utf8");
      const specifiers = [...code.matchAll(/^import\s[^;]*?from\s*"([^"]+)"/gm)].map(
        (match) => match[1]!,
      );
      expect(specifiers.length, name).toBeGreaterThan(0);
      if (name === "pylayer.js") {
        // `--version` and `--help` load the entry alone (its chunk imports are dynamic).
        expect(specifiers.filter((specifier) => specifier.startsWith("./"))).toEqual([]);
      }
      expect(
        specifiers.filter(
          (specifier) => !specifier.startsWith("node:") && !specifier.startsWith("./"),
        ),
        name,
      ).toEqual([]);
      // TLS loads for https URLs only (a build from an http or file:// index never needs it).
      expect(
        specifiers.filter((specifier) => specifier === "node:tls" || specifier === "node:https"),
        name,
      ).toEqual([]);
    }
  });

  it("runs with production dependencies only: --version and a build from a local index", async () => {
    const folder = await temporaryFolder();
    await run("tar", ["-xzf", tarball, "-C", folder]);
    const installed = join(folder, "package");
    // The lock file pins what `npx ./pylayer-*.tgz` would resolve; offline, from npm's cache.
    await copyFile(join(root, "package-lock.json"), join(installed, "package-lock.json"));
    await run(
      npm,
      ["ci", "--omit=dev", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"],
      { cwd: installed, maxBuffer: 64 * 1024 * 1024 },
    );
    for (const devOnly of ["typescript", "vitest", "rolldown", "fflate", "aws-cdk-lib"]) {
      expect(existsSync(join(installed, "node_modules", devOnly)), devOnly).toBe(false);
    }
    const bin = join(installed, "dist", "bundle", "pylayer.js");
    const { stdout } = await run(process.execPath, [bin, "--version"]);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const layer = await buildWith([process.execPath, bin]);
    expect(Object.keys(layer)).toContain("python/greet/__init__.py");
  }, 300_000);
});

describe.skipIf(process.platform !== "linux" || process.arch !== "x64")(
  "the single executable for linux x86_64",
  () => {
    let executable: string;

    beforeAll(async () => {
      const url = new URL("../../scripts/sea.mjs", import.meta.url).href;
      const { buildSea } = (await import(url)) as { buildSea: () => Promise<string> };
      executable = await buildSea();
      // Run from elsewhere, away from the repository's node_modules and package.json.
      const alone = join(await temporaryFolder(), "bin");
      await mkdir(alone);
      await copyFile(executable, join(alone, "pylayer"));
      executable = join(alone, "pylayer");
      await run("chmod", ["755", executable]);
    }, 300_000);

    it("prints its version and builds a layer from a local index, with no Node or node_modules", async () => {
      const packageJson = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
        version: string;
      };
      const { stdout, stderr } = await run(executable, ["--version"], { cwd: home });
      expect(stdout.trim()).toBe(packageJson.version);
      expect(stderr).toBe("");
      const layer = await buildWith([executable]);
      expect(Object.keys(layer)).toContain("python/greet/__init__.py");
    }, 120_000);

    it("writes the runtime-mode module, whose Python source it carries inlined", async () => {
      const cwd = await buildGreet([executable], ["--mode", "runtime", "-o", "task"]);
      const module = await readFile(join(cwd, "task", "pylayer_runtime.py"), "utf8");
      expect(module).toMatch(/^"""Loads this function's Python dependencies/);
      expect(module).toContain('TARGET_PYTHON = "3.12"\n');
    }, 120_000);
  },
);
