/**
 * Function packages through the library API (`buildLayer` with `function`): layout,
 * source excludes, modes, shadowing, input discovery in the source folder, determinism.
 */
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BuildOptions,
  buildLayer,
  DEFAULT_SOURCE_EXCLUDES,
  decodeManifest,
  PylayerError,
  ZipReader,
} from "../../src/index.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, writeTree } from "../helpers/sandbox.js";
import { buildWheel, type WheelSpec } from "../helpers/wheels.js";

const SPECS: WheelSpec[] = [
  { name: "requests-lite", version: "2.0", requires: ["helper>=1"] },
  { name: "helper", version: "1.5" },
  {
    name: "tool-maker",
    version: "1.0",
    consoleScripts: { "make-tool": "tool_maker:main" },
    files: { "tool_maker/__init__.py": "def main():\n    return 0\n" },
  },
  { name: "six-like", version: "1.0", files: { "six_like.py": "VALUE = 1\n" } },
];

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer(SPECS.map(buildWheel));
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

async function buildFunction(options: BuildOptions & { cwd: string }) {
  return buildLayer({
    index: { indexUrl: server.url },
    env: isolatedEnv(home),
    runtimes: ["python3.12"],
    check: false,
    ...options,
  });
}

async function entryModes(path: string): Promise<Record<string, number>> {
  const reader = await ZipReader.open(path);
  try {
    return Object.fromEntries(
      reader.entries.map((entry) => [entry.name, (entry.unixMode ?? 0) & 0o777]),
    );
  } finally {
    await reader.close();
  }
}

const APP = {
  "app.py": "import requests_lite\n\ndef handler(event, context):\n    return {'ok': True}\n",
  "lib/util.py": "X = 1\n",
  "requirements.txt": "requests-lite\n",
  "run.sh": { text: "#!/bin/sh\necho hi\n", mode: 0o755 },
};

describe("function packages", () => {
  it("puts the dependencies and the source at the zip root, with the manifest naming the handler", async () => {
    const cwd = await temporaryFolder();
    await writeTree(join(cwd, "src"), APP);
    const result = await buildFunction({
      cwd,
      function: { source: "src", handler: "app.handler" },
    });
    const [zip] = result.zips;
    expect(zip!.path).toBe(join(cwd, "function.zip"));
    expect(zip!.layout).toBe("function");
    expect(zip!.function).toMatchObject({ handler: "app.handler", files: 4 });
    expect(result.plan.input).toMatchObject({
      kind: "requirements",
      path: join(cwd, "src", "requirements.txt"),
      discovered: true,
    });
    const modes = await entryModes(zip!.path);
    const names = Object.keys(modes);
    expect(names).toEqual(
      expect.arrayContaining([
        "app.py",
        "lib/util.py",
        "requirements.txt",
        "run.sh",
        "requests_lite/__init__.py",
        "requests_lite-2.0.dist-info/RECORD",
        "helper/__init__.py",
      ]),
    );
    expect(names.some((name) => name.startsWith("python/"))).toBe(false);
    // Fixed modes: 0644 files, 0755 for files with an execute bit, 0755 folders.
    expect(modes["app.py"]).toBe(0o644);
    expect(modes["run.sh"]).toBe(0o755);
    expect(modes["lib/"]).toBe(0o755);
    // RECORD paths are relative to the site folder, which is the zip root.
    const reader = await ZipReader.open(zip!.path);
    const record = (
      await reader.read(reader.getEntry("requests_lite-2.0.dist-info/RECORD")!)
    ).toString("utf8");
    expect(record).toContain("requests_lite/__init__.py,sha256=");
    expect(decodeManifest(reader.comment)).toMatchObject({
      layout: "function",
      handler: "app.handler",
      runtimes: ["python3.12"],
    });
    await reader.close();
  });

  it("leaves out VCS folders, caches, virtual environments, tool output, --source-exclude globs and its own output", async () => {
    const cwd = await temporaryFolder();
    await writeTree(cwd, {
      "handler.py": "def handler(event, context):\n    return 1\n",
      "pkg/__init__.py": "",
      "pkg/__pycache__/__init__.cpython-312.pyc": "x",
      ".git/HEAD": "ref: refs/heads/main\n",
      ".venv/lib/site.py": "",
      "myenv/pyvenv.cfg": "home = /usr/bin\n",
      "myenv/lib/thing.py": "",
      "node_modules/x/index.js": "",
      "cdk.out/manifest.json": "{}",
      ".serverless/state.json": "{}",
      "tests/test_handler.py": "",
      "docs/readme.md": "",
      "notes.md": "",
      "function.zip": "stale output of an earlier build",
    });
    const result = await buildFunction({
      cwd,
      function: { source: ".", handler: "handler.handler", exclude: ["tests", "*.md"] },
    });
    const names = Object.keys(await entryModes(result.zips[0]!.path));
    expect(names.sort()).toEqual(["handler.py", "pkg/", "pkg/__init__.py"]);
    expect(DEFAULT_SOURCE_EXCLUDES).toEqual(
      expect.arrayContaining([
        ".git",
        "__pycache__",
        ".venv",
        "node_modules",
        "cdk.out",
        ".serverless",
      ]),
    );
    expect(result.plan.targets[0]!.packages).toEqual([]);
  });

  it("takes only the listed files (a deploy tool's choice, e.g. Serverless package.patterns), default excludes still applying", async () => {
    const cwd = await temporaryFolder();
    await writeTree(cwd, {
      "handler.py": "def handler(event, context):\n    return 1\n",
      "pkg/__init__.py": "",
      "pkg/util.py": "",
      "tests/test_handler.py": "",
      "node_modules/x/index.js": "",
      "notes.md": "",
    });
    const result = await buildFunction({
      cwd,
      function: {
        source: ".",
        handler: "handler.handler",
        files: ["handler.py", "pkg/__init__.py", "node_modules/x/index.js", "missing.py"],
      },
    });
    const names = Object.keys(await entryModes(result.zips[0]!.path));
    expect(names.sort()).toEqual(["handler.py", "pkg/", "pkg/__init__.py"]);
  });

  it("follows symbolic links, reading a folder reached twice once", async () => {
    const cwd = await temporaryFolder();
    const shared = await temporaryFolder();
    await writeTree(shared, { "common.py": "Y = 2\n" });
    await writeTree(cwd, { "index.py": "def handler(e, c):\n    return 0\n" });
    await symlink(shared, join(cwd, "shared"));
    await symlink(join(cwd, "index.py"), join(cwd, "alias.py"));
    await symlink(cwd, join(cwd, "loop"));
    const result = await buildFunction({
      cwd,
      function: { source: ".", handler: "index.handler" },
    });
    const names = Object.keys(await entryModes(result.zips[0]!.path)).sort();
    expect(names).toEqual(["alias.py", "index.py", "shared/", "shared/common.py"]);
  });

  it("fails with source-shadows-dependency when a source module has a dependency's top-level name", async () => {
    const cwd = await temporaryFolder();
    await writeTree(cwd, {
      "app.py": "def handler(e, c):\n    return 0\n",
      "helper.py": "# my own helper, not the package\n",
      "six_like/__init__.py": "",
    });
    const error = await buildFunction({
      cwd,
      requirements: ["requests-lite", "six-like"],
      function: { source: ".", handler: "app.handler" },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PylayerError);
    expect((error as PylayerError).code).toBe("source-shadows-dependency");
    expect((error as PylayerError).message).toContain(
      "helper.py (module helper, also installed by helper 1.5)",
    );
    expect((error as PylayerError).message).toContain(
      "six_like/__init__.py (module six_like, also installed by six-like 1.0)",
    );
    expect((error as PylayerError).hint).toContain("--source-exclude");
    // Leaving the file out is the fix the hint names.
    const fixed = await buildFunction({
      cwd,
      requirements: ["requests-lite", "six-like"],
      function: { source: ".", handler: "app.handler", exclude: ["helper.py", "six_like"] },
    });
    expect(fixed.zips).toHaveLength(1);
  });

  it("writes byte-identical zips from identical sources, and a different one when a source file changes", async () => {
    const first = await temporaryFolder();
    const second = await temporaryFolder();
    for (const cwd of [first, second]) await writeTree(join(cwd, "src"), APP);
    const options = { function: { source: "src", handler: "app.handler" }, noCache: true };
    const a = await buildFunction({ cwd: first, ...options });
    const b = await buildFunction({ cwd: second, ...options });
    expect(a.zips[0]!.sha256).toBe(b.zips[0]!.sha256);
    expect(await readFile(a.zips[0]!.path)).toEqual(await readFile(b.zips[0]!.path));
    // With the layer cache: an unchanged source is copied, a changed one rebuilt.
    const cached = await buildFunction({ cwd: first, function: options.function });
    const again = await buildFunction({ cwd: first, function: options.function });
    expect(again.zips[0]!.sha256).toBe(cached.zips[0]!.sha256);
    await writeFile(join(first, "src", "lib", "util.py"), "X = 2\n");
    const changed = await buildFunction({ cwd: first, function: options.function });
    expect(changed.zips[0]!.sha256).not.toBe(cached.zips[0]!.sha256);
    // The dependencies' entries came from the zip written before; the bytes are a clean build's.
    expect(changed.cache?.layers).toEqual({ reused: 0, built: 1, fromPrevious: 1 });
    await writeFile(join(second, "src", "lib", "util.py"), "X = 2\n");
    const clean = await buildFunction({ cwd: second, ...options });
    expect(clean.zips[0]!.sha256).toBe(changed.zips[0]!.sha256);
    expect(await readFile(changed.zips[0]!.path)).toEqual(await readFile(clean.zips[0]!.path));
  });

  it("installs scripts under bin/ and names one zip per target that needs other wheels", async () => {
    const cwd = await temporaryFolder();
    await writeTree(cwd, { "app.py": "def handler(e, c):\n    return 0\n" });
    const result = await buildFunction({
      cwd,
      requirements: ["tool-maker"],
      runtimes: ["python3.11", "python3.12"],
      function: { source: ".", handler: "app.handler" },
    });
    // Pure wheels: one zip serves both runtimes.
    expect(result.zips.map((zip) => zip.path)).toEqual([join(cwd, "function.zip")]);
    const modes = await entryModes(result.zips[0]!.path);
    expect(modes["bin/make-tool"]).toBe(0o755);
  });

  it("refuses a layer layout, --slim and a malformed handler", async () => {
    const cwd = await temporaryFolder();
    await writeTree(cwd, { "app.py": "" });
    const cases: [Partial<BuildOptions>, string][] = [
      [{ layout: "python" }, "--layout python is for layers"],
      [{ slim: true }, "work on layers only"],
      [{ function: { source: ".", handler: "app" } }, 'the handler "app" is not MODULE.FUNCTION'],
      [{ function: { source: "missing" } }, "is not a folder"],
    ];
    for (const [extra, message] of cases) {
      const error = await buildFunction({
        cwd,
        function: { source: "." },
        ...extra,
      }).catch((caught: unknown) => caught);
      expect(error, message).toBeInstanceOf(PylayerError);
      expect((error as Error).message).toContain(message);
    }
  });
});
