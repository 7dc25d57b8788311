/**
 * Whether a wheel runs on a Lambda target, and if not, why.
 *
 * A wheel is compatible when one of its expanded tags is in the target's compatible tag list;
 * its priority is the index of its best tag (lower is better). Otherwise every expanded tag is
 * diagnosed: each has a platform-side defect (glibc, architecture, operating system), a
 * Python-side defect (interpreter, version, ABI), or both. The wheel's reason is that of the
 * nearest miss, chosen by
 *   1. fewest defects (a tag that is wrong in one way beats one wrong in two ways);
 *   2. the defect's place in INCOMPATIBILITY_CODES (glibc before architecture before Python
 *      version before ABI and interpreter before operating systems Lambda never runs);
 *   3. the smallest gap (manylinux_2_27 before manylinux_2_28; cp313-abi3 before cp314-abi3);
 *   4. the order the tags are written in the filename.
 * A tag with two defects reports both, the more informative one first.
 */
import type { Target } from "../runtime/index.js";
import { wheelMachine } from "../runtime/index.js";
import { compatibleTags, legacyManylinuxAlias, oldestManylinuxGlibcMinor } from "./compatible.js";
import { type Tag, tagToString } from "./tag.js";
import type { WheelFilename } from "./wheel-filename.js";

/** Stable incompatibility codes, nearest miss first (the precedence used to pick a reason). */
export const INCOMPATIBILITY_CODES = [
  "glibc-too-new",
  "wrong-arch",
  "abi3-too-new",
  "wrong-python",
  "wrong-abi",
  "wrong-interpreter",
  "not-portable",
  "musllinux",
  "macos",
  "windows",
  "unknown-platform",
  "unsupported-tag",
] as const;

export type IncompatibilityCode = (typeof INCOMPATIBILITY_CODES)[number];

export type Compatibility =
  | { compatible: true; priority: number; tag: Tag }
  | { compatible: false; reason: string; code: string };

interface Defect {
  readonly code: IncompatibilityCode;
  readonly reason: string;
  /** How far off the tag is within its code (glibc or Python version gap); 0 when not measurable. */
  readonly gap: number;
}

interface Miss {
  readonly defects: readonly Defect[];
  readonly rank: number;
  readonly gap: number;
}

const MANYLINUX = /^manylinux_(\d+)_(\d+)_([a-z0-9_]+)$/;
const LEGACY_MANYLINUX = /^(manylinux1|manylinux2010|manylinux2014)_([a-z0-9_]+)$/;
const LEGACY_GLIBC: Record<string, readonly [number, number]> = {
  manylinux1: [2, 5],
  manylinux2010: [2, 12],
  manylinux2014: [2, 17],
};
const INTERPRETER = /^([a-z]+)(\d*)$/;
const INTERPRETER_NAMES: Record<string, string> = {
  pp: "PyPy",
  ip: "IronPython",
  jy: "Jython",
  graalpy: "GraalPy",
};

export class TagSelector {
  readonly target: Target;
  /** Every compatible tag, best first. */
  readonly tags: readonly Tag[];
  private readonly priorities = new Map<string, number>();
  private readonly machine: string;
  private readonly pythonMinor: number;
  private readonly glibc: readonly [number, number];

  constructor(target: Target) {
    this.target = target;
    this.tags = compatibleTags(target);
    this.tags.forEach((tag, index) => {
      const key = tagToString(tag);
      if (!this.priorities.has(key)) this.priorities.set(key, index);
    });
    this.machine = wheelMachine(target.architecture);
    this.pythonMinor = target.runtime.python[1];
    this.glibc = target.runtime.glibc;
  }

  /** The priority of one tag on this target (lower is better), or undefined when it does not run. */
  priorityOf(tag: Tag): number | undefined {
    return this.priorities.get(tagToString(tag));
  }

  /** The wheel's best compatible tag, or the reason of its nearest miss. */
  check(wheel: Pick<WheelFilename, "tags">): Compatibility {
    let best: { priority: number; tag: Tag } | undefined;
    for (const tag of wheel.tags) {
      const priority = this.priorities.get(tagToString(tag));
      if (priority !== undefined && (best === undefined || priority < best.priority)) {
        best = { priority, tag };
      }
    }
    if (best !== undefined) return { compatible: true, ...best };

    let nearest: Miss | undefined;
    for (const tag of wheel.tags) {
      const miss = this.diagnose(tag);
      if (nearest === undefined || isNearer(miss, nearest)) nearest = miss;
    }
    if (nearest === undefined) {
      return { compatible: false, code: "unsupported-tag", reason: "the wheel has no tags" };
    }
    const [first, second] = nearest.defects;
    return {
      compatible: false,
      code: first!.code,
      reason: second === undefined ? first!.reason : `${first!.reason}; also ${second.reason}`,
    };
  }

  /** Why one tag (known not to be in the compatible list) does not run on the target. */
  private diagnose(tag: Tag): Miss {
    const defects: Defect[] = [];
    const platformDefect = this.platformDefect(tag.platform);
    if (platformDefect !== undefined) defects.push(platformDefect);
    const pythonDefect = this.pythonDefect(tag.interpreter, tag.abi);
    if (pythonDefect !== undefined) defects.push(pythonDefect);
    if (defects.length === 0) defects.push(this.fallbackDefect(tag));
    defects.sort((a, b) => codeRank(a.code) - codeRank(b.code));
    const first = defects[0]!;
    return { defects, rank: codeRank(first.code), gap: first.gap };
  }

  private platformDefect(platform: string): Defect | undefined {
    if (platform === "any") return undefined;
    const manylinux = parseManylinux(platform);
    if (manylinux !== undefined) {
      const { name, glibc, machine } = manylinux;
      if (machine !== this.machine) {
        return {
          code: "wrong-arch",
          reason: `built for ${machine}, target is ${this.targetArchitecture()}`,
          gap: 0,
        };
      }
      if (compareGlibc(glibc, this.glibc) > 0) {
        return {
          code: "glibc-too-new",
          reason: `${name} needs glibc ${glibc[0]}.${glibc[1]}, ${this.target.runtime.name} has ${this.glibc[0]}.${this.glibc[1]}`,
          gap: glibc[0] * 1000 + glibc[1],
        };
      }
      if (manylinux.legacy && legacyManylinuxAlias(glibc[1], machine) !== name) {
        return {
          code: "unknown-platform",
          reason: `${platform} is not a valid manylinux tag (${name} is not defined for ${machine})`,
          gap: 0,
        };
      }
      const oldest = oldestManylinuxGlibcMinor(machine);
      if (compareGlibc(glibc, [2, oldest]) < 0) {
        return {
          code: "unknown-platform",
          reason: `${platform} is not a valid manylinux tag (manylinux for ${machine} starts at glibc 2.${oldest})`,
          gap: 0,
        };
      }
      return undefined;
    }
    if (platform.startsWith("linux_")) {
      return {
        code: "not-portable",
        reason: `${platform} is not a portable platform tag (built on a developer machine); Lambda needs manylinux`,
        gap: 0,
      };
    }
    if (platform.startsWith("musllinux_")) {
      return {
        code: "musllinux",
        reason: `${platform} is for musl libc Linux (such as Alpine); Lambda runs glibc and needs manylinux`,
        gap: 0,
      };
    }
    if (platform.startsWith("macosx_")) {
      return {
        code: "macos",
        reason: `${platform} is a macOS platform tag; Lambda runs Linux and needs manylinux`,
        gap: 0,
      };
    }
    if (platform === "win32" || platform.startsWith("win_")) {
      return {
        code: "windows",
        reason: `${platform} is a Windows platform tag; Lambda runs Linux and needs manylinux`,
        gap: 0,
      };
    }
    return {
      code: "unknown-platform",
      reason: `${platform} is not a platform tag Lambda runs; Lambda needs manylinux`,
      gap: 0,
    };
  }

  private pythonDefect(interpreter: string, abi: string): Defect | undefined {
    const runtime = this.target.runtime.name;
    const targetMinor = this.pythonMinor;
    const match = INTERPRETER.exec(interpreter);
    const family = match?.[1] ?? interpreter;
    const digits = match?.[2] ?? "";
    const major = digits === "" ? undefined : Number(digits[0]);
    const minor = digits.length > 1 ? Number(digits.slice(1)) : undefined;
    const gap = minor === undefined ? 100 : Math.abs(minor - targetMinor);
    const [runtimeMajor] = this.target.runtime.python;
    const supportedAbis = `cp${runtimeMajor}${targetMinor}, abi3 or none`;

    if (family === "py") {
      if (major !== 3 || (minor !== undefined && minor > targetMinor)) {
        const version = minor === undefined ? `${major ?? "?"}` : `${major}.${minor}`;
        return {
          code: "wrong-python",
          reason: `built for Python ${version} (${interpreter}), target is ${runtime}`,
          gap,
        };
      }
      if (abi !== "none") {
        return {
          code: "wrong-abi",
          reason: `ABI ${abi} is not one ${runtime} provides (${supportedAbis})`,
          gap: 0,
        };
      }
      return undefined;
    }

    if (family === "cp" && major !== undefined) {
      const freeThreaded = abi === "abi3t" || (abi.startsWith("cp") && abi.endsWith("t"));
      if (freeThreaded && major === 3 && minor === targetMinor) {
        return {
          code: "wrong-abi",
          reason: `${abi} is the free-threaded ABI of CPython; ${runtime} on Lambda is not free-threaded`,
          gap: 0,
        };
      }
      if (major === 3 && minor !== undefined && abi === "abi3") {
        if (minor > targetMinor) {
          return {
            code: "abi3-too-new",
            reason: `${interpreter}-abi3 needs Python ≥ 3.${minor}, target is ${runtime}`,
            gap,
          };
        }
        if (minor >= 2) return undefined;
      }
      if (major !== 3 || minor !== targetMinor) {
        const version = minor === undefined ? `${major}` : `${major}.${minor}`;
        const label = freeThreaded
          ? `free-threaded CPython ${version} (${abi})`
          : `CPython ${version} (${interpreter})`;
        return { code: "wrong-python", reason: `built for ${label}, target is ${runtime}`, gap };
      }
      if (abi === interpreter || abi === "abi3" || abi === "none") return undefined;
      return {
        code: "wrong-abi",
        reason: `ABI ${abi} is not one ${runtime} provides (${supportedAbis})`,
        gap: 0,
      };
    }

    const name = INTERPRETER_NAMES[family];
    return {
      code: "wrong-interpreter",
      reason: `built for ${name === undefined ? `interpreter "${interpreter}"` : `${name} (${interpreter})`}, target is CPython (${runtime})`,
      gap: 0,
    };
  }

  /** A tag whose parts are each acceptable but whose combination is not (e.g. cp312-abi3-any). */
  private fallbackDefect(tag: Tag): Defect {
    const text = tagToString(tag);
    const target = `${this.target.runtime.name} on ${this.target.architecture}`;
    if (tag.platform === "any") {
      return {
        code: "wrong-abi",
        reason: `${text} pairs ABI ${tag.abi} with platform "any", which installers do not accept on ${target}`,
        gap: 0,
      };
    }
    return { code: "unsupported-tag", reason: `${text} is not a tag ${target} accepts`, gap: 0 };
  }

  private targetArchitecture(): string {
    const architecture = this.target.architecture;
    return architecture === this.machine ? architecture : `${architecture} (${this.machine})`;
  }
}

interface Manylinux {
  /** `manylinux_2_28` or a legacy name such as `manylinux2014`. */
  readonly name: string;
  readonly glibc: readonly [number, number];
  readonly machine: string;
  readonly legacy: boolean;
}

/** Splits a manylinux platform tag (PEP 600 perennial or PEP 513/571/599 legacy). */
function parseManylinux(platform: string): Manylinux | undefined {
  const perennial = MANYLINUX.exec(platform);
  if (perennial !== null) {
    const glibc = [Number(perennial[1]), Number(perennial[2])] as const;
    const name = `manylinux_${glibc[0]}_${glibc[1]}`;
    return { name, glibc, machine: perennial[3]!, legacy: false };
  }
  const legacy = LEGACY_MANYLINUX.exec(platform);
  if (legacy !== null) {
    const name = legacy[1]!;
    return { name, glibc: LEGACY_GLIBC[name]!, machine: legacy[2]!, legacy: true };
  }
  return undefined;
}

function codeRank(code: IncompatibilityCode): number {
  return INCOMPATIBILITY_CODES.indexOf(code);
}

function compareGlibc(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** True when `candidate` is a strictly nearer miss than `current` (ties keep the earlier tag). */
function isNearer(candidate: Miss, current: Miss): boolean {
  if (candidate.defects.length !== current.defects.length) {
    return candidate.defects.length < current.defects.length;
  }
  if (candidate.rank !== current.rank) return candidate.rank < current.rank;
  return candidate.gap < current.gap;
}
