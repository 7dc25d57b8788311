/**
 * pylayer's Python programs as Python: every `.py` file of src/ compiles with each supported
 * CPython found on this machine (a missing one is skipped with a message), the Python unit
 * tests next to the TypeScript ones (`test/<folder>/test_*.py`) pass with each of them, and
 * the build ships the files: next to the compiled library in dist/, inlined in the bundled
 * CLI, and in the published package. Also the parameter block contract of
 * src/python-sources.ts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { pythonAssignments, pythonLiteral, withParameters } from "../src/python-sources.js";
import { RUNTIMES } from "../src/runtime/index.js";
import { findPython } from "./coldstart/helpers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sourceFiles = readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith(".py"))
  .sort();
const unitTestFolders = [
  ...new Set(
    readdirSync(join(root, "test"), { recursive: true, encoding: "utf8" })
      .filter((path) => /(^|\/)test_[^/]*\.py$/.test(path))
      .map((path) => join(root, "test", dirname(path))),
  ),
].sort();
const cachePrefix = mkdtempSync(join(tmpdir(), "pylayer-pycache-"));
afterAll(() => rmSync(cachePrefix, { recursive: true, force: true }));

/** Bytecode goes to a temporary folder, never next to the sources. */
const pythonEnv = {
  ...process.env,
  PYTHONPYCACHEPREFIX: cachePrefix,
  PYTHONDONTWRITEBYTECODE: "1",
};

describe("the Python programs of src/", () => {
  it("are the ones pylayer loads, each with its unit tests", () => {
    expect(sourceFiles).toEqual([
      "check/import_probe.py",
      "coldstart/pylayer_runtime.py",
      "invoke/bootstrap.py",
      "invoke/lambda_sys_path.py",
      "pep517/hook_runner.py",
    ]);
    expect(unitTestFolders.map((folder) => folder.slice(root.length + 1))).toEqual([
      "test/check",
      "test/coldstart",
      "test/invoke",
      "test/pep517",
    ]);
  });

  for (const runtime of RUNTIMES) {
    const version = runtime.python.join(".");
    const python = findPython(version);
    if (python === undefined) {
      console.warn(
        `skipping the python${version} checks of src/*.py: python${version} was not found`,
      );
    }
    it.skipIf(python === undefined)(`compile with python${version}`, () => {
      const result = spawnSync(python!, ["-m", "py_compile", ...sourceFiles], {
        cwd: join(root, "src"),
        env: pythonEnv,
        encoding: "utf8",
      });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
    });

    it.skipIf(python === undefined)(`pass their unit tests with python${version}`, () => {
      for (const folder of unitTestFolders) {
        const result = spawnSync(
          python!,
          ["-m", "unittest", "discover", "-s", folder, "-p", "test_*.py"],
          { cwd: root, env: pythonEnv, encoding: "utf8", timeout: 120_000 },
        );
        expect(result.status, `${folder}:\n${result.stderr}`).toBe(0);
        expect(result.stderr).toMatch(/\nOK( \(skipped=\d+\))?\n$/);
      }
    });
  }
});

describe("the build", () => {
  it("copies them next to the compiled library", () => {
    for (const path of sourceFiles) {
      expect(readFileSync(join(root, "dist", path), "utf8"), path).toBe(
        readFileSync(join(root, "src", path), "utf8"),
      );
    }
  });

  it("inlines them in the bundled command line", () => {
    const bundle = readdirSync(join(root, "dist", "bundle"))
      .filter((name) => name.endsWith(".js"))
      .map((name) => readFileSync(join(root, "dist", "bundle", name), "utf8"))
      .join("\n");
    for (const path of sourceFiles) {
      const text = readFileSync(join(root, "src", path), "utf8");
      expect(bundle.includes(`${JSON.stringify(path)}: ${JSON.stringify(text)}`), path).toBe(true);
    }
  });

  it("puts them in the published package", () => {
    const [pack] = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }),
    ) as { files: { path: string }[] }[];
    const packed = new Set(pack!.files.map((file) => file.path));
    for (const path of sourceFiles) expect(packed, path).toContain(`dist/${path}`);
  });
});

describe("parameter blocks", () => {
  const program = [
    '"""A program."""',
    "# BEGIN PYLAYER PARAMETERS",
    "# Placeholders.",
    'NAME = "x"',
    "COUNT = 0",
    "# END PYLAYER PARAMETERS",
    "print(NAME, COUNT)",
    "",
  ].join("\n");

  it("replaces the block as a whole with assignments of the same names", () => {
    expect(withParameters(program, pythonAssignments({ NAME: 'a "b"\n', COUNT: 3 }))).toBe(
      ['"""A program."""', 'NAME = "a \\"b\\"\\n"', "COUNT = 3", "print(NAME, COUNT)", ""].join(
        "\n",
      ),
    );
  });

  it("refuses other names, another order, or a program without a block", () => {
    expect(() => withParameters(program, pythonAssignments({ NAME: "a" }))).toThrow(
      /assigns NAME, COUNT/,
    );
    expect(() => withParameters(program, pythonAssignments({ COUNT: 1, NAME: "a" }))).toThrow();
    expect(() => withParameters("print(1)\n", [])).toThrow(/no PYLAYER block/);
  });

  it("writes Python literals", () => {
    const cases: [Parameters<typeof pythonLiteral>[0], string][] = [
      ["é\\", '"é\\\\"'],
      [true, "True"],
      [false, "False"],
      [42, "42"],
      [["a", "b"], '["a", "b"]'],
      [{ a: "1" }, '{"a": "1"}'],
    ];
    for (const [value, literal] of cases) expect(pythonLiteral(value)).toBe(literal);
    expect(() => pythonLiteral(1.5)).toThrow(/not an integer/);
  });
});
