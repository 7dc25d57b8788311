/**
 * Helpers for running the generated `pylayer_runtime.py` with real interpreters: finding
 * `python3.X` (directly, or through pyenv's shims with PYENV_VERSION), building a runtime
 * bundle from test wheels, and running a handler script as Lambda would import it.
 */
import { execFile, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildRuntimeBundle, type RuntimeBundleOptions } from "../../src/coldstart/index.js";
import { type WheelSpec, writeWheels } from "../helpers/wheels.js";

const found = new Map<string, string | undefined>();

/** The real executable of `python<version>`, or undefined when this machine lacks it. */
export function findPython(version: string): string | undefined {
  if (found.has(version)) return found.get(version);
  let executable: string | undefined;
  for (const extra of [{}, { PYENV_VERSION: version }]) {
    const result = spawnSync(`python${version}`, ["-c", "import sys; print(sys.executable)"], {
      env: { ...process.env, ...extra },
      encoding: "utf8",
    });
    if (result.status === 0 && result.stdout.trim() !== "") {
      executable = result.stdout.trim();
      break;
    }
  }
  found.set(version, executable);
  return executable;
}

/**
 * The interpreters a test needs: a missing one fails the test on CI (PYLAYER_CI=1) and
 * is reported as skipped elsewhere.
 */
export function requirePython(version: string): string | undefined {
  const executable = findPython(version);
  if (executable === undefined) {
    if (process.env.PYLAYER_CI === "1") {
      throw new Error(`python${version} is required on CI but was not found`);
    }
    console.warn(`skipping python${version} tests: python${version} was not found`);
  }
  return executable;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `python script` in `cwd` with a Lambda-like environment (no PYTHONPATH). */
export function runPython(
  python: string,
  script: string,
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<RunResult> {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR"]) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const merged: Record<string, string> = { ...base, PYTHONDONTWRITEBYTECODE: "1" };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return new Promise((resolve) => {
    execFile(
      python,
      [script],
      { cwd, env: merged, encoding: "utf8", timeout: 60_000 },
      (error, stdout, stderr) => {
        const code =
          error === null ? 0 : typeof error.code === "number" ? error.code : error.signal ? 128 : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Writes the test wheels to a find-links folder and builds a runtime bundle from them. */
export async function bundleFromWheels(
  root: string,
  wheels: WheelSpec[],
  requirements: string[],
  options: Omit<RuntimeBundleOptions, "requirements"> = {},
) {
  const wheelDir = join(root, "wheels");
  await writeWheels(wheelDir, wheels);
  return buildRuntimeBundle({
    requirements,
    index: { noIndex: true, findLinks: [wheelDir] },
    noCache: true,
    cwd: root,
    env: { SOURCE_DATE_EPOCH: "1700000000", PIP_CONFIG_FILE: "/dev/null" },
    outputDir: join(root, "task"),
    ...options,
  });
}

/** A handler script that loads the module explicitly and prints a JSON report. */
export async function writeHandler(folder: string, body: string, name = "handler.py") {
  const path = join(folder, name);
  await writeFile(path, body);
  return path;
}
