/**
 * The Python programs pylayer writes or runs, kept as `.py` files in `src/` so that Python
 * itself compiles and tests them (test/python-sources.test.ts): the runtime-mode module
 * (`coldstart/pylayer_runtime.py`), the invoke bootstrap (`invoke/bootstrap.py`), Lambda's
 * sys.path order (`invoke/lambda_sys_path.py`), the import probe
 * (`check/import_probe.py`) and the PEP 517 hook runner (`pep517/hook_runner.py`).
 *
 * Where the text comes from: the compiled library reads the file next to this module
 * (`npm run build` copies the `.py` files of `src/` into `dist/` beside the JavaScript,
 * so the published package has them); the bundled CLI carries them inlined, as
 * `PYLAYER_PYTHON_SOURCES` (scripts/bundle.mjs), and reads no file.
 *
 * Parameters: a program that needs values has one block of assignments, from a
 * `# BEGIN PYLAYER …` line to an `# END PYLAYER …` line, holding placeholder values that
 * let the file run as it is in tests. `withParameters` replaces that block as a whole
 * with assignments of the same names, in the same order; nothing is interpolated into
 * code.
 */
import { readFileSync } from "node:fs";

declare const PYLAYER_PYTHON_SOURCES: Readonly<Record<string, string>> | undefined;

export type PythonSourcePath =
  | "coldstart/pylayer_runtime.py"
  | "invoke/bootstrap.py"
  | "invoke/lambda_sys_path.py"
  | "check/import_probe.py"
  | "pep517/hook_runner.py";

const inlined: Readonly<Record<string, string>> | undefined =
  typeof PYLAYER_PYTHON_SOURCES === "undefined" ? undefined : PYLAYER_PYTHON_SOURCES;
const loaded = new Map<PythonSourcePath, string>();

/** The text of one of pylayer's Python programs (path relative to `src/`). */
export function pythonSource(path: PythonSourcePath): string {
  let text = loaded.get(path) ?? inlined?.[path];
  if (text === undefined) {
    text = readFileSync(new URL(`./${path}`, import.meta.url), "utf8");
  }
  loaded.set(path, text);
  return text;
}

export type PythonValue = string | number | boolean | string[] | Record<string, string>;

/**
 * A Python literal: JSON string escapes are valid in Python string literals; lists and
 * dicts follow Python's usual separators; integers only.
 */
export function pythonLiteral(value: PythonValue): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`pythonLiteral: ${value} is not an integer`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
  return `{${Object.entries(value)
    .map(([key, item]) => `${JSON.stringify(key)}: ${JSON.stringify(item)}`)
    .join(", ")}}`;
}

/** `NAME = literal` lines, in the order given. */
export function pythonAssignments(values: Record<string, PythonValue>): string[] {
  return Object.entries(values).map(([name, value]) => `${name} = ${pythonLiteral(value)}`);
}

const BLOCK = /^# BEGIN PYLAYER [A-Z]+\n(?:.*\n)*?# END PYLAYER [A-Z]+\n/m;
const ASSIGNED = /^([A-Z][A-Z0-9_]*) = /gm;

/**
 * `source` with its parameter block (BEGIN and END lines included) replaced by `lines`.
 * Throws when the source has no block, or when `lines` do not assign the block's names in
 * its order: the program and its generator must agree.
 */
export function withParameters(source: string, lines: readonly string[]): string {
  const block = BLOCK.exec(source);
  if (block === null) throw new Error("withParameters: the source has no PYLAYER block");
  const replacement = lines.map((line) => `${line}\n`).join("");
  const expected = [...block[0].matchAll(ASSIGNED)].map((match) => match[1]);
  const given = [...replacement.matchAll(ASSIGNED)].map((match) => match[1]);
  if (expected.join(",") !== given.join(",")) {
    throw new Error(
      `withParameters: the block assigns ${expected.join(", ")}, the lines ${given.join(", ")}`,
    );
  }
  return source.slice(0, block.index) + replacement + source.slice(block.index + block[0].length);
}
