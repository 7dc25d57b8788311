/**
 * The Lambda Python runtimes pylayer builds for, as data.
 *
 * Sources: AWS Lambda developer guide, "Lambda runtimes" (runtime identifiers, operating
 * systems, deprecation dates) and the Amazon Linux 2 / Amazon Linux 2023 release notes
 * (glibc 2.26 and 2.34). Dates move; they are informational only and never change what
 * gets built.
 */
import { PylayerError, usageError } from "../errors.js";

/** Lambda's architecture names. `arm64` is `aarch64` in wheel tags and `platform_machine`. */
export type Architecture = "x86_64" | "arm64";
export const ARCHITECTURES: readonly Architecture[] = ["x86_64", "arm64"];

export interface LambdaRuntime {
  /** Runtime identifier as Lambda spells it, e.g. `python3.12`. */
  readonly name: string;
  /** CPython major and minor version. */
  readonly python: readonly [number, number];
  /** The patch release used for `python_full_version` markers (a recent documented one). */
  readonly pythonFullVersion: string;
  readonly os: "Amazon Linux 2" | "Amazon Linux 2023";
  /** glibc of the runtime's OS: wheels tagged `manylinux_X_Y` need X.Y ≤ this. */
  readonly glibc: readonly [number, number];
  readonly architectures: readonly Architecture[];
  /** Date Lambda deprecates the runtime (ISO), where AWS has announced one. */
  readonly deprecationDate?: string;
}

const BOTH: readonly Architecture[] = ["x86_64", "arm64"];

export const RUNTIMES: readonly LambdaRuntime[] = [
  {
    name: "python3.9",
    python: [3, 9],
    pythonFullVersion: "3.9.23",
    os: "Amazon Linux 2",
    glibc: [2, 26],
    architectures: BOTH,
    deprecationDate: "2025-12-15",
  },
  {
    name: "python3.10",
    python: [3, 10],
    pythonFullVersion: "3.10.18",
    os: "Amazon Linux 2",
    glibc: [2, 26],
    architectures: BOTH,
  },
  {
    name: "python3.11",
    python: [3, 11],
    pythonFullVersion: "3.11.13",
    os: "Amazon Linux 2",
    glibc: [2, 26],
    architectures: BOTH,
  },
  {
    name: "python3.12",
    python: [3, 12],
    pythonFullVersion: "3.12.11",
    os: "Amazon Linux 2023",
    glibc: [2, 34],
    architectures: BOTH,
    deprecationDate: "2028-10-31",
  },
  {
    name: "python3.13",
    python: [3, 13],
    pythonFullVersion: "3.13.5",
    os: "Amazon Linux 2023",
    glibc: [2, 34],
    architectures: BOTH,
    deprecationDate: "2029-06-30",
  },
  {
    name: "python3.14",
    python: [3, 14],
    pythonFullVersion: "3.14.0",
    os: "Amazon Linux 2023",
    glibc: [2, 34],
    architectures: BOTH,
    deprecationDate: "2029-06-30",
  },
];

export const DEFAULT_RUNTIME = "python3.12";
export const DEFAULT_ARCHITECTURE: Architecture = "x86_64";

/** One thing pylayer builds for: a runtime on an architecture. */
export interface Target {
  readonly runtime: LambdaRuntime;
  readonly architecture: Architecture;
  /** `python3.12-x86_64`: used in file names, plans and messages. */
  readonly id: string;
}

export function findRuntime(name: string): LambdaRuntime {
  const runtime = RUNTIMES.find((candidate) => candidate.name === name);
  if (runtime === undefined) {
    throw usageError(
      `unknown runtime "${name}"`,
      `Choose one of ${RUNTIMES.map((r) => r.name).join(", ")}.`,
    );
  }
  return runtime;
}

export function parseArchitecture(name: string): Architecture {
  if (name === "x86_64" || name === "arm64") return name;
  if (name === "aarch64") return "arm64";
  if (name === "amd64" || name === "x86-64") return "x86_64";
  throw usageError(`unknown architecture "${name}"`, "Choose x86_64 or arm64.");
}

export function makeTarget(runtimeName: string, architectureName: string): Target {
  const runtime = findRuntime(runtimeName);
  const architecture = parseArchitecture(architectureName);
  if (!runtime.architectures.includes(architecture)) {
    throw new PylayerError(
      "unsupported-target",
      `${runtime.name} is not offered on ${architecture}`,
      { hint: `Choose one of ${runtime.architectures.join(", ")}.`, exitCode: 2 },
    );
  }
  return { runtime, architecture, id: `${runtime.name}-${architecture}` };
}

/** Every combination of the given runtimes and architectures, in the order given. */
export function makeTargets(
  runtimeNames: readonly string[],
  architectureNames: readonly string[],
): Target[] {
  const targets: Target[] = [];
  const seen = new Set<string>();
  for (const runtimeName of runtimeNames) {
    for (const architectureName of architectureNames) {
      const target = makeTarget(runtimeName, architectureName);
      if (!seen.has(target.id)) {
        seen.add(target.id);
        targets.push(target);
      }
    }
  }
  return targets;
}

/** The machine name used in wheel platform tags and in `platform_machine`. */
export function wheelMachine(architecture: Architecture): "x86_64" | "aarch64" {
  return architecture === "arm64" ? "aarch64" : "x86_64";
}

/** PEP 508 marker variables as they evaluate inside the Lambda runtime. */
export interface MarkerEnvironment {
  os_name: string;
  sys_platform: string;
  platform_machine: string;
  platform_python_implementation: string;
  platform_release: string;
  platform_system: string;
  platform_version: string;
  python_version: string;
  python_full_version: string;
  implementation_name: string;
  implementation_version: string;
}

export function markerEnvironment(target: Target): MarkerEnvironment {
  const [major, minor] = target.runtime.python;
  return {
    os_name: "posix",
    sys_platform: "linux",
    platform_machine: wheelMachine(target.architecture),
    platform_python_implementation: "CPython",
    platform_release: "",
    platform_system: "Linux",
    platform_version: "",
    python_version: `${major}.${minor}`,
    python_full_version: target.runtime.pythonFullVersion,
    implementation_name: "cpython",
    implementation_version: target.runtime.pythonFullVersion,
  };
}

/** The site folder of a runtime inside a layer using the `site-packages` layout. */
export function sitePackagesPath(runtime: LambdaRuntime): string {
  return `python/lib/python${runtime.python[0]}.${runtime.python[1]}/site-packages`;
}
