/**
 * The local Python that runs build backends. Building from source is the one place
 * pylayer needs Python on the host: PEP 517 backends are Python code, and a wheel with
 * compiled code is built for the interpreter and machine that build it.
 */
import { execFile } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { promisify } from "node:util";
import { PylayerError } from "../errors.js";

const execFileAsync = promisify(execFile);

export interface BuildPython {
  /** The executable as found or given. */
  path: string;
  /** `sys.implementation.name`, e.g. `cpython`. */
  implementation: string;
  /** Major and minor version. */
  version: readonly [number, number];
  /** `3.11.7`. */
  fullVersion: string;
  /** `sys.platform`: `linux`, `darwin`, `win32`. */
  system: string;
  /** `platform.machine()`, e.g. `x86_64`, `aarch64`, `arm64`. */
  machine: string;
  /** glibc version on Linux with glibc, e.g. `[2, 36]`. */
  glibc?: readonly [number, number];
}

const PROBE = `
import json, os, platform, sys
glibc = None
try:
    name, version = os.confstr("CS_GNU_LIBC_VERSION").split()
    if name == "glibc":
        glibc = [int(part) for part in version.split(".")[:2]]
except Exception:
    pass
print(json.dumps({"implementation": sys.implementation.name, "version": list(sys.version_info[:2]),
    "fullVersion": platform.python_version(), "system": sys.platform, "machine": platform.machine(),
    "glibc": glibc}))
`;

const probed = new Map<string, Promise<BuildPython | null>>();

/** Runs `path` once to learn what it is; null when it does not run as a Python 3. */
export function probePython(path: string): Promise<BuildPython | null> {
  let result = probed.get(path);
  if (result === undefined) {
    result = execFileAsync(path, ["-I", "-S", "-c", PROBE], { timeout: 30_000 }).then(
      ({ stdout }) => {
        const facts = JSON.parse(stdout.trim()) as Omit<BuildPython, "path" | "glibc"> & {
          glibc: [number, number] | null;
        };
        if (facts.version[0] !== 3) return null;
        const { glibc, ...rest } = facts;
        return { path, ...rest, ...(glibc === null ? {} : { glibc }) };
      },
      () => null,
    );
    probed.set(path, result);
  }
  return result;
}

async function executableOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const found: string[] = [];
  for (const folder of (env.PATH ?? "").split(delimiter)) {
    if (folder === "") continue;
    const candidate = join(folder, name);
    try {
      await access(candidate, fsConstants.X_OK);
      found.push(candidate);
    } catch {
      // Not here.
    }
  }
  return found;
}

export interface FindBuildPythonOptions {
  /** `--build-python`: a path or a command name on PATH. */
  explicit?: string;
  /** Minor versions to look for first (`[3, 11]` → `python3.11`), best first. */
  preferred?: readonly (readonly [number, number])[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What needs the build, for the error message. */
  reason?: string;
}

/**
 * The build interpreter: `explicit` when given, else the first of `python3.X` for the
 * preferred versions, `python3` and `python` on PATH that runs. Throws
 * `build-python-not-found` when there is none.
 */
export async function findBuildPython(options: FindBuildPythonOptions = {}): Promise<BuildPython> {
  const env = options.env ?? process.env;
  const reason = options.reason ?? "building a package from source";
  if (options.explicit !== undefined) {
    const explicit = options.explicit;
    const candidates =
      isAbsolute(explicit) || explicit.includes("/")
        ? [resolve(options.cwd ?? process.cwd(), explicit)]
        : await executableOnPath(explicit, env);
    for (const candidate of candidates) {
      const python = await probePython(candidate);
      if (python !== null) return python;
    }
    throw new PylayerError(
      "build-python-not-found",
      `--build-python ${explicit} does not run as a Python 3 interpreter (needed for ${reason})`,
      { hint: "Give the path of a Python 3 executable, e.g. --build-python /usr/bin/python3.12." },
    );
  }
  const names = [
    ...(options.preferred ?? []).map(([major, minor]) => `python${major}.${minor}`),
    "python3",
    "python",
  ];
  for (const name of [...new Set(names)]) {
    for (const candidate of await executableOnPath(name, env)) {
      const python = await probePython(candidate);
      if (python !== null) return python;
    }
  }
  throw new PylayerError(
    "build-python-not-found",
    `${reason} needs a local Python 3 to run the build backend, and none was found on PATH (looked for ${[...new Set(names)].join(", ")})`,
    {
      hint: "Install Python 3 or pass --build-python PATH; or avoid the source build: use a release that publishes wheels, --only-binary :all:, or a wheel from another index.",
    },
  );
}
