/**
 * The isolated build environment of a source build: pylayer resolves the backend's
 * requirements with its own resolver, for the build interpreter's own platform (not the
 * Lambda target's), from the same indexes as the layer, and unpacks the wheels into a
 * folder the backend's subprocess adds to its `sys.path`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve as resolvePath, sep } from "node:path";
import { PylayerError } from "../errors.js";
import type { IndexClient } from "../index/index.js";
import { parseRequirement } from "../pep508/index.js";
import type { BuildPython } from "../pep517/index.js";
import { resolve } from "../resolver/index.js";
import type { Architecture, LambdaRuntime, Target } from "../runtime/index.js";
import { ZipReader } from "../zip/index.js";
import {
  PYTHON_PROJECT,
  SDIST_ONLY_BUILD_REQUIREMENT,
  TargetProvider,
  type WheelCandidate,
} from "./provider.js";

/**
 * The build interpreter as a target: its Python version, glibc and machine. Its OS name
 * is nominal (tags and markers only read the version, glibc and machine).
 */
export function hostTarget(python: BuildPython): Target {
  const architecture: Architecture =
    python.machine === "aarch64" || python.machine === "arm64" ? "arm64" : "x86_64";
  const runtime: LambdaRuntime = {
    name: `python${python.version[0]}.${python.version[1]}`,
    python: python.version,
    pythonFullVersion: python.fullVersion,
    os: "Amazon Linux 2023",
    // Without glibc (macOS, musl) only pure wheels are usable: manylinux_2_0 admits none.
    glibc: python.system === "linux" && python.glibc !== undefined ? python.glibc : [2, 0],
    architectures: [architecture],
  };
  return { runtime, architecture, id: `build-python-${python.fullVersion}-${python.machine}` };
}

/**
 * Resolves `requirements` for `python` and unpacks the chosen wheels into `destination`.
 * Build requirements must be available as wheels (a backend built from source would
 * itself need a build). Returns `name==version` of what was installed.
 */
export async function installBuildRequirements(
  client: IndexClient,
  requirements: readonly string[],
  python: BuildPython,
  destination: string,
  purpose: string,
): Promise<string[]> {
  await mkdir(destination, { recursive: true });
  if (requirements.length === 0) return [];
  const target = hostTarget(python);
  const provider = new TargetProvider(client, target);
  let resolution: Awaited<ReturnType<typeof resolve>>;
  try {
    resolution = await resolve(provider, {
      requirements: requirements.map((text) => parseRequirement(text)),
      target: `${python.path} (Python ${python.fullVersion}, ${purpose})`,
    });
  } catch (error) {
    const nested = nestedBuildError(error, purpose);
    if (nested !== undefined) throw nested;
    if (error instanceof PylayerError) {
      throw new PylayerError(error.code, `${purpose}: ${error.message}`, {
        hint: `${error.hint ?? ""} Build requirements come from the same indexes as the layer and must be wheels for the build Python.`.trim(),
        ...(error.details === undefined ? {} : { details: error.details }),
        cause: error,
      });
    }
    throw error;
  }
  const installed: string[] = [];
  for (const item of resolution.packages) {
    if (item.name === PYTHON_PROJECT) continue;
    const candidate = item.candidate as WheelCandidate;
    const { path } = await client.download(candidate.file);
    await unpackWheel(path, destination);
    installed.push(`${item.name}==${candidate.version.text}`);
  }
  return installed;
}

/**
 * A build requirement whose every version is only an sdist would need a source build to
 * run a source build. pylayer does not nest builds (depth 0): a backend built from source
 * could itself need a build, and its wheel would be an unverified input of every build it
 * runs. The error names the requirement and how to provide its wheel.
 */
function nestedBuildError(error: unknown, purpose: string): PylayerError | undefined {
  if (!(error instanceof PylayerError) || error.code !== "no-matching-distribution") return;
  const project = error.details?.project;
  const versions = (error.details?.versions ?? []) as { reason?: string }[];
  if (typeof project !== "string" || versions.length === 0) return;
  if (!versions.every((version) => version.reason === SDIST_ONLY_BUILD_REQUIREMENT)) return;
  return new PylayerError(
    "nested-source-build",
    `${purpose}: ${project} is published only as a source distribution, and pylayer does not build build requirements from source`,
    {
      hint: `Provide a wheel of ${project} for the build Python (pip wheel ${project} --no-deps -w wheels/, then --find-links wheels/), or add it to your index.`,
      details: { project, versions: error.details?.versions },
      cause: error,
    },
  );
}

/**
 * Unpacks a wheel as an installer would for `sys.path` use: the root and the
 * `.data/purelib` and `.data/platlib` trees into `destination`; scripts, headers and
 * data are not needed to run a backend.
 */
export async function unpackWheel(wheelPath: string, destination: string): Promise<void> {
  const reader = await ZipReader.open(wheelPath);
  const root = resolvePath(destination);
  try {
    for (const entry of reader.entries) {
      if (entry.isDirectory || entry.isSymlink) continue;
      let name = entry.name;
      const data = /^[^/]+\.data\/(purelib|platlib)\/(.+)$/.exec(name);
      if (data !== null) name = data[2]!;
      else if (/^[^/]+\.data\//.test(name)) continue;
      const path = resolvePath(root, name);
      if (!path.startsWith(root + sep)) continue;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, await reader.read(entry));
    }
  } finally {
    await reader.close();
  }
}
