/**
 * A Lambda-like Python environment on this machine, shared by `pylayer invoke` and the
 * import test of `pylayer check`: finding a local interpreter of the runtime's minor
 * version, extracting layers into an `/opt`-like folder, and the Python prelude that gives
 * sys.path Lambda's order.
 *
 * Lambda's sys.path for python3.X (AWS Lambda developer guide, "Working with layers for
 * Python Lambda functions"): the function code folder (/var/task), then
 * /opt/python/lib/python3.X/site-packages, then /opt/python, then the runtime's own
 * folders and the standard library. The runtime adds the layer folders with
 * `site.addsitedir`, so `.pth` files in them work. Only /tmp is writable, so nothing writes
 * `__pycache__` next to the code.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, readdir } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { pythonSource } from "../python-sources.js";
import type { Architecture, LambdaRuntime } from "../runtime/index.js";

const execFileAsync = promisify(execFile);
export interface Interpreter {
  path: string;
  /** `3.11.7` */
  version: string;
  machine: string;
}

export interface InterpreterSearch {
  interpreter?: Interpreter;
  /** Every candidate tried, with why it was rejected, for the message when none fits. */
  rejected: { path: string; reason: string }[];
}

/** The host's architecture in Lambda's terms, or undefined for anything else. */
export function hostArchitecture(): Architecture | undefined {
  if (process.arch === "x64") return "x86_64";
  if (process.arch === "arm64") return "arm64";
  return undefined;
}

/**
 * Why this machine cannot run code for `runtime` on `architecture`, or undefined when it can
 * (given an interpreter). Linux .so files only load on Linux of the same CPU.
 */
export function hostMismatch(architecture: Architecture): string | undefined {
  if (process.platform !== "linux") {
    return `this machine runs ${process.platform}, and Linux extension modules only load on Linux; run it on Linux ${architecture}`;
  }
  const host = hostArchitecture();
  if (host !== architecture) {
    return `this machine is ${host ?? process.arch} and the layer is for ${architecture}; run it on a Linux ${architecture} machine (e.g. an arm64 CI runner or EC2 instance)`;
  }
  return undefined;
}

/**
 * Finds a CPython of `runtime`'s minor version: `explicit` when given, else `python3.X` on
 * PATH, then pyenv's versions folder (`$PYENV_ROOT`, default ~/.pyenv), then uv's managed
 * Pythons. Each candidate is run once to confirm its version (pyenv shims exist for
 * versions that are not installed or not selected).
 */
export async function findInterpreter(
  runtime: LambdaRuntime,
  options: { explicit?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<InterpreterSearch> {
  const env = options.env ?? process.env;
  // Probing runs each candidate (a pyenv shim takes a few hundred milliseconds), so one
  // process remembers the answer for the same question.
  const key = JSON.stringify([
    runtime.name,
    options.explicit,
    env.PATH,
    env.HOME,
    env.PYENV_ROOT,
    env.XDG_DATA_HOME,
  ]);
  let search = searches.get(key);
  if (search === undefined) {
    search = searchInterpreter(runtime, options.explicit, env);
    searches.set(key, search);
  }
  return search;
}

const searches = new Map<string, Promise<InterpreterSearch>>();

async function searchInterpreter(
  runtime: LambdaRuntime,
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<InterpreterSearch> {
  const options = { explicit };
  const [major, minor] = runtime.python;
  const executable = `python${major}.${minor}`;
  const candidates: string[] = [];
  if (options.explicit !== undefined) {
    candidates.push(options.explicit);
  } else {
    for (const dir of (env.PATH ?? "").split(delimiter)) {
      if (dir !== "") candidates.push(join(dir, executable));
    }
    const home = env.HOME ?? homedir();
    const pyenvRoot = env.PYENV_ROOT ?? join(home, ".pyenv");
    candidates.push(
      ...(await versionFolders(join(pyenvRoot, "versions"), `${major}.${minor}.`)).map((folder) =>
        join(folder, "bin", executable),
      ),
    );
    const uvRoot = join(env.XDG_DATA_HOME ?? join(home, ".local", "share"), "uv", "python");
    candidates.push(
      ...(await versionFolders(uvRoot, `cpython-${major}.${minor}.`)).map((folder) =>
        join(folder, "bin", executable),
      ),
    );
  }
  const rejected: { path: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (seen.has(candidate)) continue;
    seen.add(candidate);
    if (options.explicit === undefined) {
      try {
        await access(candidate, constants.X_OK);
      } catch {
        continue;
      }
    }
    const probe = await probeInterpreter(candidate, env);
    if ("reason" in probe) {
      rejected.push({ path: candidate, reason: probe.reason });
      continue;
    }
    if (probe.implementation !== "cpython" || probe.version !== `${major}.${minor}`) {
      rejected.push({
        path: candidate,
        reason: `it is ${probe.implementation} ${probe.fullVersion}, not CPython ${major}.${minor}`,
      });
      continue;
    }
    return {
      interpreter: { path: probe.executable, version: probe.fullVersion, machine: probe.machine },
      rejected,
    };
  }
  return { rejected };
}

/** Folders in `parent` whose names start with `prefix`, newest patch release first. */
async function versionFolders(parent: string, prefix: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const patch = (name: string) => Number(/^\d+/.exec(name.slice(prefix.length))?.[0] ?? -1);
  return names
    .filter((name) => name.startsWith(prefix) && /^\d/.test(name.slice(prefix.length)))
    .sort((a, b) => patch(b) - patch(a))
    .map((name) => join(parent, name));
}

async function probeInterpreter(
  path: string,
  env: NodeJS.ProcessEnv,
): Promise<
  | {
      implementation: string;
      version: string;
      fullVersion: string;
      machine: string;
      /** `sys.executable`: the real binary behind a shim such as pyenv's. */
      executable: string;
    }
  | { reason: string }
> {
  try {
    const { stdout } = await execFileAsync(
      path,
      [
        "-I",
        "-S",
        "-c",
        "import sys, platform; v = sys.version_info; print(sys.implementation.name, '%d.%d' % v[:2], '%d.%d.%d' % v[:3], platform.machine()); print(sys.executable)",
      ],
      { timeout: 15_000, env: { PATH: env.PATH ?? "", HOME: env.HOME ?? "" } },
    );
    const [facts = "", executable = ""] = stdout.trim().split("\n");
    const [implementation, version, fullVersion, machine] = facts.trim().split(/\s+/);
    if (machine === undefined) return { reason: `it printed "${stdout.trim()}"` };
    return {
      implementation: implementation!,
      version: version!,
      fullVersion: fullVersion!,
      machine,
      executable: executable.trim() || path,
    };
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    const detail = (failure.stderr ?? "").trim().split("\n").at(-1) || failure.message;
    return { reason: `it does not run (${detail})` };
  }
}

/** The message of `interpreter-not-found`: what was searched and how to get one. */
export function describeMissingInterpreter(
  runtime: LambdaRuntime,
  search: InterpreterSearch,
): string {
  const [major, minor] = runtime.python;
  const tried =
    search.rejected.length === 0
      ? ""
      : ` (tried ${search.rejected.map((item) => `${item.path}: ${item.reason}`).join("; ")})`;
  return `no local CPython ${major}.${minor} was found on PATH, in pyenv's or uv's Python folders${tried}`;
}

export function interpreterHint(runtime: LambdaRuntime): string {
  const [major, minor] = runtime.python;
  return `Install Python ${major}.${minor} (e.g. \`pyenv install ${major}.${minor}\` or \`uv python install ${major}.${minor}\`), or pass --python /path/to/python${major}.${minor}.`;
}

/**
 * A program for `python3.X -I -S -B -c` in Lambda's sys.path order: `lambda_sys_path.py`
 * (which defines `arrange_sys_path`) followed by `program`, which calls it before its other
 * imports. -I -S -B: no environment variables, no host site-packages, no bytecode writes.
 */
export function lambdaPythonProgram(program: string): string {
  return `${pythonSource("invoke/lambda_sys_path.py")}\n${program}`;
}

/** `LD_LIBRARY_PATH` with the emulated /var/task, /var/task/lib and /opt/lib, as on Lambda. */
export function lambdaLibraryPath(
  taskRoot: string,
  optDir: string,
  hostValue: string | undefined,
): string {
  return [hostValue, taskRoot, join(taskRoot, "lib"), join(optDir, "lib")]
    .filter((item) => item !== undefined && item !== "")
    .join(":");
}
