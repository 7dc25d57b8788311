import { execFileSync, spawnSync } from "node:child_process";
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytecodePath, findPython, isCompilable } from "../../src/compile/index.js";
import { isPylayerError } from "../../src/errors.js";
import { buildLayer } from "../../src/pipeline/index.js";
import { parseRecord } from "../../src/wheel/index.js";
import { ZipReader } from "../../src/zip/index.js";
import { extractZip } from "../helpers/sandbox.js";
import { writeWheels } from "../helpers/wheels.js";

const python311 = spawnSync("python3.11", ["-c", "pass"]).status === 0;
const needsPython = !python311 && process.env.PYLAYER_CI !== "1";

describe("bytecode paths", () => {
  // PEP 3147: <folder>/__pycache__/<stem>.<cache tag>.pyc
  it.each([
    ["python/pkg/mod.py", "cpython-311", "python/pkg/__pycache__/mod.cpython-311.pyc"],
    ["python/pkg/__init__.py", "cpython-313", "python/pkg/__pycache__/__init__.cpython-313.pyc"],
    ["python/top.py", "cpython-39", "python/__pycache__/top.cpython-39.pyc"],
  ])("%s (%s) → %s", (source, tag, expected) => {
    expect(bytecodePath(source, tag)).toBe(expected);
  });

  it.each([
    ["python/pkg/mod.py", true],
    ["python/lib/python3.12/site-packages/pkg/mod.py", true],
    ["python/pkg/mod.pyi", false],
    ["bin/tool.py", false],
    ["python/pkg-1.0.dist-info/hook.py", false],
    ["python/pkg-1.0.data/scripts/x.py", false],
    ["share/doc/example.py", false],
  ])("isCompilable(%s) = %s", (path, expected) => {
    expect(isCompilable(path)).toBe(expected);
  });
});

describe("findPython", () => {
  it("fails with python-not-found and a hint when python3.X is not on PATH", async () => {
    const empty = await mkdtemp(join(tmpdir(), "pylayer-no-python-"));
    try {
      const error = await findPython("3.12", { PATH: empty }).catch((caught: unknown) => caught);
      expect(isPylayerError(error)).toBe(true);
      expect(error).toMatchObject({ code: "python-not-found" });
      expect((error as Error).message).toContain("python3.12");
      expect((error as { hint: string }).hint).toContain("without --compile");
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("skips a python3.X on PATH that reports another version", async () => {
    const folder = await mkdtemp(join(tmpdir(), "pylayer-fake-python-"));
    try {
      const fake = join(folder, "python3.13");
      await writeFile(fake, "#!/bin/sh\necho cpython 3.11 cpython-311 3.11.2\n");
      await chmod(fake, 0o755);
      await expect(findPython("3.13", { PATH: folder })).rejects.toMatchObject({
        code: "python-not-found",
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it.skipIf(needsPython)("finds python3.11 with its cache tag", async () => {
    const python = await findPython("3.11", process.env);
    expect(python.cacheTag).toBe("cpython-311");
    expect(python.fullVersion).toMatch(/^3\.11\.\d+/);
  });
});

describe("build --compile", () => {
  let root: string;
  let wheelFolder: string;
  const env = { PIP_CONFIG_FILE: "/dev/null", PATH: process.env.PATH };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "pylayer-compile-test-"));
    wheelFolder = join(root, "wheels");
    await writeWheels(wheelFolder, [
      {
        name: "compiled",
        version: "1.0",
        files: {
          "compiled/__init__.py": "from .core import value\n",
          "compiled/core.py": "value = 'from the compiled source'\n",
          "compiled/broken.py": "print 'python 2 only'\n",
          "compiled/__pycache__/core.cpython-311.pyc": "stale bytes from the wheel",
          "compiled/README.txt": "not python\n",
        },
      },
    ]);
  });
  afterAll(async () => {
    await makeWritable(root);
    await rm(root, { recursive: true, force: true });
  });

  const build = (output: string, extra: { runtimes?: string[]; env?: NodeJS.ProcessEnv } = {}) =>
    buildLayer({
      requirements: ["compiled"],
      runtimes: extra.runtimes ?? ["python3.11"],
      output,
      index: { findLinks: [wheelFolder], noIndex: true },
      noCache: true,
      env: extra.env ?? env,
      cwd: root,
      compile: true,
    });

  it("fails before downloading anything when the runtime's Python is missing", async () => {
    const empty = await mkdtemp(join(tmpdir(), "pylayer-no-python-"));
    try {
      await expect(
        build(join(root, "missing.zip"), {
          runtimes: ["python3.12"],
          env: { ...env, PATH: empty },
        }),
      ).rejects.toMatchObject({ code: "python-not-found" });
      expect((await readdir(root)).filter((name) => name.endsWith(".zip"))).toEqual([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it.skipIf(needsPython)(
    "adds unchecked-hash pycs with /opt paths that python3.11 trusts from a read-only folder",
    async () => {
      const output = join(root, "compiled.zip");
      const result = await build(output);
      const zip = result.zips[0]!;
      expect(zip.compile?.compiled).toEqual([
        { python: "3.11", files: 2, bytes: expect.any(Number) },
      ]);
      expect(zip.compile?.failures).toMatchObject([
        { path: "python/compiled/broken.py", python: "3.11" },
      ]);

      const reader = await ZipReader.open(output);
      const names = reader.entries.filter((entry) => !entry.isDirectory).map((entry) => entry.name);
      expect(names.filter((name) => name.includes("__pycache__/"))).toEqual([
        "python/compiled/__pycache__/__init__.cpython-311.pyc",
        "python/compiled/__pycache__/core.cpython-311.pyc",
      ]);
      // The wheel's stale pyc was replaced, and RECORD lists the new ones with their hashes.
      const record = parseRecord(
        (await reader.read(reader.getEntry("python/compiled-1.0.dist-info/RECORD")!)).toString(),
      );
      const pycRows = record.filter((row) => row.path.endsWith(".pyc"));
      expect(pycRows.map((row) => row.path)).toEqual([
        "compiled/__pycache__/__init__.cpython-311.pyc",
        "compiled/__pycache__/core.cpython-311.pyc",
      ]);
      const corePyc = await reader.read(
        reader.getEntry("python/compiled/__pycache__/core.cpython-311.pyc")!,
      );
      expect(pycRows[1]!.size).toBe(corePyc.length);
      await reader.close();

      // PEP 552 header: the magic number of this Python, flags 0b01 (hash-based,
      // unchecked), then the source hash; the code object carries the path on Lambda.
      const inspect = execFileSync(
        "python3.11",
        [
          "-I",
          "-c",
          [
            "import sys, marshal, importlib.util",
            "data = sys.stdin.buffer.read()",
            "print(data[:4] == importlib.util.MAGIC_NUMBER)",
            "print(int.from_bytes(data[4:8], 'little'))",
            "print(marshal.loads(data[16:]).co_filename)",
          ].join("\n"),
        ],
        { input: corePyc, encoding: "utf8" },
      );
      expect(inspect.trim().split("\n")).toEqual(["True", "1", "/opt/python/compiled/core.py"]);

      // Lambda-like run: a read-only copy, no bytecode writing. The source is changed
      // after compiling; an unchecked pyc is trusted without reading the source, so the
      // module still has the compiled value and nothing is written next to it.
      const optFolder = join(root, "opt");
      await extractZip(output, optFolder);
      await writeFile(
        join(optFolder, "python/compiled/core.py"),
        "value = 'from the edited source'\n",
      );
      await makeReadOnly(optFolder);
      const pycacheBefore = await readdir(join(optFolder, "python/compiled/__pycache__"));
      const run = execFileSync(
        "python3.11",
        [
          "-I",
          "-c",
          [
            "import sys",
            `sys.path.insert(0, ${JSON.stringify(join(optFolder, "python"))})`,
            "import compiled, compiled.core",
            "print(compiled.value)",
            "print(compiled.core.__spec__.cached.endswith('__pycache__/core.cpython-311.pyc'))",
          ].join("\n"),
        ],
        { encoding: "utf8", env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } },
      );
      expect(run.trim().split("\n")).toEqual(["from the compiled source", "True"]);
      expect(await readdir(join(optFolder, "python/compiled/__pycache__"))).toEqual(pycacheBefore);
    },
  );

  it.skipIf(needsPython)("writes the same zip twice", async () => {
    const first = await build(join(root, "first.zip"));
    const second = await build(join(root, "second.zip"));
    expect(second.zips[0]!.sha256).toBe(first.zips[0]!.sha256);
  });
});

/** chmod a-w on every file and folder (Lambda's /opt is read-only). */
async function makeReadOnly(folder: string): Promise<void> {
  for (const name of await readdir(folder)) {
    const path = join(folder, name);
    if ((await stat(path)).isDirectory()) await makeReadOnly(path);
    else await chmod(path, 0o444);
  }
  await chmod(folder, 0o555);
}

async function makeWritable(folder: string): Promise<void> {
  await chmod(folder, 0o755);
  for (const name of await readdir(folder)) {
    const path = join(folder, name);
    if ((await stat(path)).isDirectory()) await makeWritable(path);
    else await chmod(path, 0o644);
  }
}
