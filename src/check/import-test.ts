/**
 * The import test: extract the layer into an `/opt`-like folder and import each module
 * with a local CPython of the runtime's minor version, in Lambda's sys.path order and with
 * the layer's `lib/` on LD_LIBRARY_PATH. Each module is imported in a fresh process, so one
 * failure (or a crash) cannot hide the next.
 *
 * What this cannot see: the host's glibc and libraries are not Lambda's, so a library the
 * host has but Lambda lacks still imports here; the static native checks cover that.
 */

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { type Interpreter, lambdaLibraryPath, lambdaPythonProgram } from "../invoke/environment.js";
import { RUNTIME_PROVIDED_PACKAGES } from "../pipeline/types.js";
import { pythonAssignments, pythonSource, withParameters } from "../python-sources.js";
import type { Target } from "../runtime/index.js";
import { extractZip as extractLayer } from "../zip/extract.js";
import { type LayerFiles, label, lambdaSiteDirs, topLevelNames } from "./layer-files.js";
import { forEachLimited } from "./layout.js";
import { FINDING_CODES, type Finding, type ImportOutcome } from "./types.js";

/** Top-level names that are usually test or documentation folders shipped by mistake, not APIs. */
const NOT_IMPORTED_BY_DEFAULT = new Set([
  "test",
  "tests",
  "testing",
  "doc",
  "docs",
  "example",
  "examples",
  "benchmarks",
  "scripts",
]);

/**
 * The modules imported by default: every top-level module in the folders Lambda reads; for
 * a function package, its dependencies' top-level modules (its own modules run code at
 * import, so only the handler's module is imported, by the caller).
 */
export function defaultImportModules(
  files: LayerFiles,
  target: Target,
  kind: "layer" | "function" = "layer",
): string[] {
  const names = new Set<string>();
  if (kind === "function") {
    for (const distribution of files.distributions) {
      if (distribution.siteDir !== "") continue;
      for (const name of distribution.topLevelFromRecord) {
        if (!NOT_IMPORTED_BY_DEFAULT.has(name)) names.add(name);
      }
    }
    return [...names].sort();
  }
  const paths = files.files.map((entry) => entry.name);
  for (const siteDir of lambdaSiteDirs(target.runtime)) {
    for (const name of topLevelNames(paths, siteDir)) {
      if (siteDir === "python" && name === "lib") continue;
      if (!NOT_IMPORTED_BY_DEFAULT.has(name)) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * A temporary `/opt` and `/var/task` holding the extracted zip (a layer into `/opt`, a
 * function package into `/var/task`) and then `layers` in order into `/opt`; `dispose`
 * removes them.
 */
export async function prepareSandbox(
  files: LayerFiles,
  options: { kind?: "layer" | "function"; layers?: readonly LayerFiles[] } = {},
): Promise<{ root: string; optDir: string; taskRoot: string; dispose: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "pylayer-check-"));
  const optDir = join(root, "opt");
  const taskRoot = join(root, "var", "task");
  try {
    await mkdir(optDir, { recursive: true });
    await mkdir(taskRoot, { recursive: true });
    await extractLayer(files.reader, options.kind === "function" ? taskRoot : optDir);
    for (const layer of options.layers ?? []) await extractLayer(layer.reader, optDir);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    root,
    optDir,
    taskRoot,
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}

const RESULT_MARKER = "__PYLAYER_IMPORT_RESULT__";

/**
 * The probe (`import_probe.py`): Lambda's sys.path, then import one module, report as JSON on
 * stdout. `module:function` also requires a callable `function` (a handler).
 */
function probeSource(taskRoot: string, optDir: string, module: string): string {
  return lambdaPythonProgram(
    withParameters(
      pythonSource("check/import_probe.py"),
      pythonAssignments({
        TASK_ROOT: taskRoot,
        OPT_DIR: optDir,
        PYTHON_PATH_EXTRA: [],
        MODULE: module,
        RESULT_MARKER,
      }),
    ),
  );
}

export async function importModule(
  interpreter: Interpreter,
  sandbox: { optDir: string; taskRoot: string },
  module: string,
  timeoutSeconds: number,
  hostEnv: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; error?: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: `${join(sandbox.optDir, "bin")}:${hostEnv.PATH ?? "/usr/bin:/bin"}`,
    LD_LIBRARY_PATH: lambdaLibraryPath(sandbox.taskRoot, sandbox.optDir, hostEnv.LD_LIBRARY_PATH),
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    HOME: hostEnv.HOME ?? "/tmp",
    LAMBDA_TASK_ROOT: sandbox.taskRoot,
  };
  return new Promise((resolve) => {
    const child = spawn(
      interpreter.path,
      ["-I", "-S", "-B", "-c", probeSource(sandbox.taskRoot, sandbox.optDir, module)],
      { cwd: sandbox.taskRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      if (stderr.length > 65_536) stderr = stderr.slice(-65_536);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutSeconds * 1000);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `could not start ${interpreter.path}: ${error.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const markerAt = stdout.lastIndexOf(RESULT_MARKER);
      if (markerAt !== -1) {
        const line = stdout.slice(markerAt + RESULT_MARKER.length).split("\n")[0]!;
        try {
          const parsed = JSON.parse(line) as { ok: boolean; error?: string };
          resolve(parsed.ok ? { ok: true } : { ok: false, error: parsed.error ?? "failed" });
          return;
        } catch {
          // Fall through to the exit status.
        }
      }
      if (timedOut) {
        resolve({ ok: false, error: `the import did not finish within ${timeoutSeconds} s` });
        return;
      }
      const lastLine = stderr.trim().split("\n").at(-1)?.trim();
      resolve({
        ok: false,
        error: `the interpreter ${signal === null ? `exited with status ${code}` : `was killed by ${signal}`}${lastLine ? `: ${lastLine}` : ""}`,
      });
    });
  });
}

/** Kills a detached child and everything it started. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

export async function runImportTest(
  files: LayerFiles,
  target: Target,
  interpreter: Interpreter,
  sandbox: { optDir: string; taskRoot: string },
  modules: readonly string[],
  options: { timeoutSeconds: number; env: NodeJS.ProcessEnv },
): Promise<{ outcomes: ImportOutcome[]; findings: Finding[] }> {
  const outcomes: ImportOutcome[] = new Array(modules.length);
  const concurrency = Math.max(1, Math.min(4, availableParallelism()));
  await forEachLimited(modules, concurrency, async (module, index) => {
    const result = await importModule(
      interpreter,
      sandbox,
      module,
      options.timeoutSeconds,
      options.env,
    );
    const owner = files.distributions.find((distribution) =>
      (distribution.topLevelFile ?? distribution.topLevelFromRecord).includes(
        module.split(".")[0]!,
      ),
    );
    outcomes[index] = {
      module,
      ok: result.ok,
      ...(result.error === undefined ? {} : { error: result.error }),
      ...(owner === undefined ? {} : { package: label(owner) }),
    };
  });

  const shipped = new Set(
    files.distributions.map((distribution) => distribution.name.toLowerCase()),
  );
  const findings: Finding[] = [];
  for (const outcome of outcomes) {
    if (outcome.ok) continue;
    const runtimeModule = /No module named '([A-Za-z0-9_]+)/.exec(outcome.error ?? "")?.[1];
    const providedByRuntime =
      runtimeModule !== undefined &&
      (RUNTIME_PROVIDED_PACKAGES as readonly string[]).includes(runtimeModule) &&
      !shipped.has(runtimeModule);
    const handler = outcome.module.includes(":") ? outcome.module.replace(":", ".") : undefined;
    if (handler !== undefined && !providedByRuntime) {
      findings.push({
        code: FINDING_CODES.handlerImportFailed,
        severity: "error",
        message: `the handler ${handler} does not load with ${interpreter.path} (${interpreter.version}) in Lambda's sys.path order: ${outcome.error}; Lambda fails the same way (Runtime.ImportModuleError or Runtime.HandlerNotFound)`,
        hint: "Run it with `pylayer invoke` to see the whole traceback; a missing module usually means a dependency is not in the package or its layers.",
        target: target.id,
        details: { handler, error: outcome.error, interpreter: interpreter.path },
      });
      continue;
    }
    findings.push({
      code: providedByRuntime
        ? FINDING_CODES.importNeedsRuntimePackage
        : FINDING_CODES.importFailed,
      severity: providedByRuntime ? "warning" : "error",
      message: providedByRuntime
        ? `import ${outcome.module} needs ${runtimeModule}, which the layer leaves to the Lambda runtime; the local test cannot include the runtime's copy (${outcome.error})`
        : `import ${outcome.module} failed with ${interpreter.path} (${interpreter.version}): ${outcome.error}`,
      hint: providedByRuntime
        ? `On Lambda the runtime's ${runtimeModule} is used; bundle it (leave out --exclude-runtime-provided) to pin its version.`
        : "Run the same import with `pylayer invoke` to see the whole traceback; a missing module usually means a dependency is not in the layer.",
      ...(outcome.package === undefined ? {} : { package: outcome.package }),
      target: target.id,
      details: { module: outcome.module, error: outcome.error, interpreter: interpreter.path },
    });
  }
  return { outcomes, findings };
}
