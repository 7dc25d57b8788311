import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { buildLayer } from "../../src/pipeline/index.js";
import {
  compileGlob,
  globMatches,
  isHashBasedPyc,
  planSlim,
  referencedModules,
  resolveRelative,
  type SlimFile,
} from "../../src/slim/index.js";
import { parseRecord } from "../../src/wheel/index.js";
import { ZipReader } from "../../src/zip/index.js";
import { extractZip } from "../helpers/sandbox.js";
import { writeWheels } from "../helpers/wheels.js";

describe("compileGlob / globMatches", () => {
  // gitignore-like semantics: a pattern without "/" matches any one segment; with "/",
  // a path from the site folder; a folder match covers everything under it.
  const cases: [pattern: string, path: string, matches: boolean][] = [
    ["*.md", "README.md", true],
    ["*.md", "pkg/docs/guide.md", true],
    ["*.md", "pkg/docs/guide.mdx", false],
    ["docs", "pkg/docs/guide.md", true],
    ["doc?", "pkg/docs/guide.md", true],
    ["pkg/*.txt", "pkg/a.txt", true],
    ["pkg/*.txt", "pkg/sub/a.txt", false],
    ["pkg/**/*.txt", "pkg/sub/deep/a.txt", true],
    ["pkg/**/*.txt", "pkg/a.txt", true],
    ["**/examples-1.json", "botocore/data/s3/2006-03-01/examples-1.json", true],
    ["botocore/data/*/*/examples-1.json", "botocore/data/s3/2006-03-01/examples-1.json", true],
    ["botocore/data", "botocore/data/s3/2006-03-01/service-2.json", true],
    ["botocore/data", "botocore/database.py", false],
    ["*.{so,pyd}", "pkg/_speedups.so", true],
    ["*.{so,pyd}", "pkg/_speedups.py", false],
    ["[!_]*.py", "pkg/_private.py", false],
    ["[!_]*.py", "pkg/public.py", true],
    ["pkg/a.b", "pkg/aXb", false],
  ];
  it.each(cases)("%s on %s → %s", (pattern, path, matches) => {
    expect(globMatches(compileGlob(pattern), path)).toBe(matches);
  });

  it("refuses absolute and unbalanced patterns with a usage error", () => {
    expect(() => compileGlob("/etc/passwd")).toThrow(/not a relative glob/);
    expect(() => compileGlob("a{b,c")).toThrow(/not closed/);
    expect(() => compileGlob("a[b")).toThrow(/not closed/);
  });
});

describe("referencedModules", () => {
  // Relative imports resolve against the package (the import system's __package__ rules).
  const cases: [source: string, packageName: string, expected: string[]][] = [
    ["import a.b.c", "x", ["a.b.c"]],
    ["import a.tests as t, b", "", ["a.tests", "b"]],
    ["from a.b import tests", "", ["a.b", "a.b.tests"]],
    ["from . import tests", "pkg.sub", ["pkg.sub", "pkg.sub.tests"]],
    ["from .tests.helpers import make", "pkg", ["pkg.tests.helpers", "pkg.tests.helpers.make"]],
    [
      "from ..tests import (\n  one,\n  two as three,\n)",
      "pkg.sub",
      ["pkg.tests", "pkg.tests.one", "pkg.tests.two"],
    ],
    ["try: from .test import x\nexcept ImportError: pass", "pkg", ["pkg.test", "pkg.test.x"]],
    [
      'module = importlib.import_module("pkg.tests.data")',
      "",
      ["importlib.import_module", "pkg.tests.data"],
    ],
    ["from ... import x", "pkg", []],
    // Attribute chains are dotted names too; they only count where they start with a
    // test folder's module name (see the top-level "tests" case of planSlim).
    ["x = self.tests.value", "", ["self.tests.value"]],
  ];
  it.each(cases)("%j in %j", (source, packageName, expected) => {
    expect([...referencedModules(source, packageName)].sort()).toEqual([...expected].sort());
  });

  it("resolves relative levels", () => {
    expect(resolveRelative("a.b.c", 1, "")).toBe("a.b.c");
    expect(resolveRelative("a.b.c", 3, "d")).toBe("a.d");
    expect(resolveRelative("a.b.c", 4, "d")).toBeUndefined();
    expect(resolveRelative("", 1, "d")).toBeUndefined();
  });
});

/** A 16-byte pyc header: magic, flags, then 8 bytes (hash or mtime+size). */
function pycHeader(flags: number): Buffer {
  const header = Buffer.alloc(24);
  header.write("\xa7\r\r\n", 0, "latin1");
  header.writeUInt32LE(flags, 4);
  return header;
}

function files(contents: Record<string, string | Buffer>) {
  const list = Object.entries(contents).map(([name, data]) => ({
    name,
    size: Buffer.byteLength(data),
    data: Buffer.from(data),
  }));
  return { list, read: async (file: SlimFile & { data: Buffer }) => file.data };
}

describe("planSlim", () => {
  it("removes stale bytecode, stubs, dist-info extras and unimported test suites", async () => {
    const { list, read } = files({
      "python/pkg/__init__.py": "from .core import run\n",
      "python/pkg/core.py": "def run(): return 1\n",
      "python/pkg/core.pyi": "def run() -> int: ...\n",
      "python/pkg/py.typed": "",
      "python/pkg/__pycache__/core.cpython-311.pyc": pycHeader(0),
      "python/pkg/__pycache__/fresh.cpython-311.pyc": pycHeader(1),
      "python/pkg/old.pyo": "x",
      "python/pkg/tests/__init__.py": "",
      "python/pkg/tests/test_core.py": "from pkg.tests import helpers\nfrom ..core import run\n",
      "python/pkg/tests/helpers.py": "",
      "python/pkg/test/data.txt": "fixture",
      "python/tests/__init__.py": "",
      "python/pkg/runner.py": "x = self.tests.value\n",
      "python/pkg-1.0.dist-info/METADATA": "Name: pkg\n",
      "python/pkg-1.0.dist-info/RECORD": "",
      "python/pkg-1.0.dist-info/entry_points.txt": "",
      "python/pkg-1.0.dist-info/top_level.txt": "pkg\n",
      "python/pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n",
      "python/pkg-1.0.dist-info/INSTALLER": "pylayer\n",
      "python/pkg-1.0.dist-info/licenses/LICENSE": "MIT\n",
      "bin/tool": "#!/var/lang/bin/python3.11\nfrom pkg.core import run\n",
    });
    const plan = await planSlim(list, read);
    const removed = Object.fromEntries(
      plan.removals.map((removal) => [removal.path, removal.reason]),
    );
    expect(removed).toEqual({
      "python/pkg/__pycache__/core.cpython-311.pyc": "bytecode",
      "python/pkg/old.pyo": "bytecode",
      "python/pkg/core.pyi": "stubs",
      "python/pkg-1.0.dist-info/WHEEL": "dist-info",
      "python/pkg-1.0.dist-info/INSTALLER": "dist-info",
      "python/pkg-1.0.dist-info/licenses/LICENSE": "dist-info",
      "python/pkg/tests/__init__.py": "tests",
      "python/pkg/tests/test_core.py": "tests",
      "python/pkg/tests/helpers.py": "tests",
      "python/pkg/test/data.txt": "tests",
      "python/tests/__init__.py": "tests",
    });
    expect(plan.kept.map((file) => file.name)).toContain(
      "python/pkg/__pycache__/fresh.cpython-311.pyc",
    );
    expect(plan.keptTestFolders).toEqual([]);
  });

  it.each([
    ["an absolute import", "python/pkg/util.py", "from pkg.tests.helpers import make\n"],
    ["a relative import", "python/pkg/sub/util.py", "from ..tests import helpers\n"],
    ["a from-package import", "python/pkg/__init__.py", "from . import tests\n"],
    ["a dotted name in a string", "python/other/plugin.py", 'load("pkg.tests.helpers")\n'],
    [
      "an entry point",
      "python/other-1.0.dist-info/entry_points.txt",
      "[pytest11]\nx = pkg.tests.plugin\n",
    ],
    ["a script", "bin/run-checks", "#!/var/lang/bin/python3.11\nimport pkg.tests.helpers\n"],
  ])("keeps a test folder imported by %s", async (_label, importer, source) => {
    const { list, read } = files({
      "python/pkg/__init__.py": "",
      "python/pkg/tests/__init__.py": "",
      "python/pkg/tests/helpers.py": "def make(): pass\n",
      [importer]: source,
    });
    const plan = await planSlim(list, read);
    expect(plan.removals.filter((removal) => removal.reason === "tests")).toEqual([]);
    expect(plan.keptTestFolders).toEqual([{ path: "python/pkg/tests/", importedBy: importer }]);
  });

  it("removes test suites that only import each other, and ignores conftest.py", async () => {
    const { list, read } = files({
      "python/a/__init__.py": "",
      "python/a/tests/test_a.py": "from b.tests.common import shared\n",
      "python/b/__init__.py": "",
      "python/b/tests/common.py": "from a.tests import test_a\n",
      "python/b/conftest.py": "from b.tests.common import shared\n",
    });
    const plan = await planSlim(list, read);
    expect(plan.removals.map((removal) => removal.path)).toEqual([
      "python/a/tests/test_a.py",
      "python/b/tests/common.py",
    ]);
  });

  it("removes pattern matches relative to the site folder, naming the pattern", async () => {
    const { list, read } = files({
      "python/lib/python3.12/site-packages/pkg/README.md": "# pkg",
      "python/lib/python3.12/site-packages/pkg/data/big.json": "{}",
      "python/lib/python3.12/site-packages/pkg/data/keep.txt": "x",
      "python/lib/python3.12/site-packages/pkg/__init__.py": "",
    });
    const plan = await planSlim(list, read, { patterns: ["*.md", "pkg/data/*.json"] });
    expect(plan.removals).toEqual([
      {
        path: "python/lib/python3.12/site-packages/pkg/README.md",
        size: 5,
        reason: "pattern",
        detail: "*.md",
      },
      {
        path: "python/lib/python3.12/site-packages/pkg/data/big.json",
        size: 2,
        reason: "pattern",
        detail: "pkg/data/*.json",
      },
    ]);
  });

  it("recognizes PEP 552 hash-based pycs by bit 0 of the flags", () => {
    expect(isHashBasedPyc(pycHeader(0))).toBe(false);
    expect(isHashBasedPyc(pycHeader(1))).toBe(true);
    expect(isHashBasedPyc(pycHeader(3))).toBe(true);
    expect(isHashBasedPyc(Buffer.alloc(4))).toBe(false);
  });
});

const python311 = spawnSync("python3.11", ["-c", "pass"]).status === 0;
const needsPython = !python311 && process.env.PYLAYER_CI !== "1";

describe("build --slim", () => {
  let root: string;
  let wheelFolder: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "pylayer-slim-test-"));
    wheelFolder = join(root, "wheels");
    await writeWheels(wheelFolder, [
      {
        name: "slimmed",
        version: "2.5.1",
        requires: ["helper"],
        consoleScripts: { "slimmed-cli": "slimmed.cli:main" },
        files: {
          "slimmed/__init__.py": "from .core import answer\n",
          "slimmed/core.py": "answer = 42\n",
          "slimmed/core.pyi": "answer: int\n",
          "slimmed/cli.py": "def main(): print('hi')\n",
          "slimmed/__pycache__/core.cpython-311.pyc": pycHeader(0),
          "slimmed/tests/__init__.py": "",
          "slimmed/tests/test_core.py": "from slimmed.core import answer\n",
          "slimmed/testing/__init__.py": "from slimmed.testing.fixtures import *\n",
          "slimmed/testing/fixtures.py": "from slimmed.testing.tests import sample\n",
          "slimmed/testing/tests/__init__.py": "",
          "slimmed/testing/tests/sample.py": "value = 'kept because slimmed.testing imports it'\n",
          "slimmed/docs/guide.md": "# guide\n",
        },
      },
      { name: "helper", version: "1.0" },
    ]);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const env = { PIP_CONFIG_FILE: "/dev/null", PATH: process.env.PATH };
  const build = (output: string, options: { slim?: boolean; slimPatterns?: string[] }) =>
    buildLayer({
      requirements: ["slimmed"],
      runtimes: ["python3.11"],
      output,
      index: { findLinks: [wheelFolder], noIndex: true },
      noCache: true,
      env,
      cwd: root,
      ...options,
    });

  it("removes the files, rewrites RECORD and reports the savings", async () => {
    const output = join(root, "slim.zip");
    const result = await build(output, { slim: true, slimPatterns: ["*.md"] });
    const zip = result.zips[0]!;
    expect(zip.slim?.byReason.map((row) => row.reason)).toEqual([
      "bytecode",
      "tests",
      "stubs",
      "dist-info",
      "pattern",
    ]);
    expect(zip.slim?.keptTestFolders).toEqual([
      {
        path: "python/slimmed/testing/tests/",
        importedBy: "python/slimmed/testing/fixtures.py",
      },
    ]);
    const reader = await ZipReader.open(output);
    const names = reader.entries.filter((entry) => !entry.isDirectory).map((entry) => entry.name);
    expect(names).toEqual([
      "bin/slimmed-cli",
      "python/helper-1.0.dist-info/METADATA",
      "python/helper-1.0.dist-info/RECORD",
      "python/helper/__init__.py",
      "python/slimmed-2.5.1.dist-info/METADATA",
      "python/slimmed-2.5.1.dist-info/RECORD",
      "python/slimmed-2.5.1.dist-info/entry_points.txt",
      "python/slimmed/__init__.py",
      "python/slimmed/cli.py",
      "python/slimmed/core.py",
      "python/slimmed/testing/__init__.py",
      "python/slimmed/testing/fixtures.py",
      "python/slimmed/testing/tests/__init__.py",
      "python/slimmed/testing/tests/sample.py",
    ]);
    const record = parseRecord(
      (await reader.read(reader.getEntry("python/slimmed-2.5.1.dist-info/RECORD")!)).toString(),
    );
    await reader.close();
    // RECORD lists exactly the shipped files of the distribution.
    expect(record.map((row) => row.path).sort()).toEqual(
      [
        "../bin/slimmed-cli",
        "slimmed-2.5.1.dist-info/METADATA",
        "slimmed-2.5.1.dist-info/RECORD",
        "slimmed-2.5.1.dist-info/entry_points.txt",
        "slimmed/__init__.py",
        "slimmed/cli.py",
        "slimmed/core.py",
        "slimmed/testing/__init__.py",
        "slimmed/testing/fixtures.py",
        "slimmed/testing/tests/__init__.py",
        "slimmed/testing/tests/sample.py",
      ].sort(),
    );
  });

  it.skipIf(needsPython)(
    "keeps importlib.metadata working (version, entry points, files) for python3.11",
    async () => {
      const output = join(root, "metadata.zip");
      await build(output, { slim: true });
      const extracted = join(root, "metadata-extracted");
      await extractZip(output, extracted);
      const script = [
        "import sys",
        `sys.path.insert(0, ${JSON.stringify(join(extracted, "python"))})`,
        "import importlib.metadata as metadata",
        "import slimmed, slimmed.testing",
        "print(metadata.version('slimmed'), metadata.version('helper'))",
        "print([e.value for e in metadata.entry_points(group='console_scripts', name='slimmed-cli')])",
        "print(sorted(str(f) for f in metadata.files('slimmed') if f.name.endswith('.py'))[0])",
        "print(metadata.packages_distributions()['slimmed'])",
        "print(slimmed.answer, slimmed.testing.sample.value)",
      ].join("\n");
      const output311 = execFileSync("python3.11", ["-I", "-B", "-c", script], {
        encoding: "utf8",
      });
      expect(output311.trim().split("\n")).toEqual([
        "2.5.1 1.0",
        "['slimmed.cli:main']",
        "slimmed/__init__.py",
        "['slimmed']",
        "42 kept because slimmed.testing imports it",
      ]);
    },
  );

  it("lists every removal with --verbose", async () => {
    const output = join(root, "verbose.zip");
    const stderr: string[] = [];
    const originalWrite = process.stderr.write.bind(process.stderr);
    const originalOut = process.stdout.write.bind(process.stdout);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const cwd = process.cwd();
    let code: number;
    try {
      process.chdir(root);
      code = await main(
        [
          "build",
          "slimmed",
          "--runtime",
          "python3.11",
          "--find-links",
          wheelFolder,
          "--no-index",
          "--no-cache",
          "--slim",
          "--verbose",
          "-o",
          output,
        ],
        { ...env, NO_COLOR: "1" },
      );
    } finally {
      process.chdir(cwd);
      process.stderr.write = originalWrite;
      process.stdout.write = originalOut;
    }
    expect(code).toBe(0);
    const text = stderr.join("");
    for (const removed of [
      "python/slimmed/core.pyi (stubs)",
      "python/slimmed/__pycache__/core.cpython-311.pyc (bytecode)",
      "python/slimmed/tests/test_core.py (tests: python/slimmed/tests/)",
      "python/slimmed-2.5.1.dist-info/WHEEL (dist-info)",
    ]) {
      expect(text).toContain(`slim: removed ${removed}`);
    }
    expect(text).toContain(
      "slim: kept python/slimmed/testing/tests/, imported by python/slimmed/testing/fixtures.py",
    );
  });
});
