/**
 * The tags a Lambda target accepts, best first.
 *
 * The order is that of `packaging.tags.sys_tags` on CPython (`cpython_tags` followed by
 * `compatible_tags`), computed for the runtime's Python version and for a platform list of
 * manylinux tags only. `linux_<arch>` is left out on purpose (such wheels were built on some
 * developer machine and need not run on Amazon Linux), and so is musllinux (Lambda uses glibc).
 * test/tags/golden/ holds the lists packaging produces, which the tests compare against.
 */
import { PylayerError } from "../errors.js";
import { type Target, wheelMachine } from "../runtime/index.js";
import type { Tag } from "./tag.js";

/** The oldest glibc minor (of glibc 2) manylinux defines for a machine (PEP 600, PEP 599). */
export function oldestManylinuxGlibcMinor(machine: string): number {
  return machine === "x86_64" || machine === "i686" ? 5 : 17;
}

/**
 * The legacy manylinux tag that is an alias of `manylinux_2_{minor}` on `machine`, if any:
 * manylinux1 = 2_5 (PEP 513) and manylinux2010 = 2_12 (PEP 571) exist for x86_64 and i686 only;
 * manylinux2014 = 2_17 (PEP 599) for x86_64, i686, aarch64, armv7l, ppc64, ppc64le and s390x.
 */
export function legacyManylinuxAlias(minor: number, machine: string): string | undefined {
  const intel = machine === "x86_64" || machine === "i686";
  if (minor === 5 && intel) return "manylinux1";
  if (minor === 12 && intel) return "manylinux2010";
  if (minor === 17) return "manylinux2014";
  return undefined;
}

/**
 * The platform tags a target runs, best first: `manylinux_2_{cap}_{machine}` down to the
 * oldest manylinux for the machine, each legacy alias right after its perennial twin, as
 * `packaging._manylinux.platform_tags` yields them on a glibc 2.{cap} system.
 */
export function platformTags(target: Target): string[] {
  const machine = wheelMachine(target.architecture);
  const [glibcMajor, glibcCap] = target.runtime.glibc;
  if (glibcMajor !== 2) {
    // Every Lambda runtime has glibc 2.x; a major bump would need packaging's
    // per-major walk (_LAST_GLIBC_MINOR), which the runtime table does not call for.
    throw new PylayerError(
      "internal",
      `glibc ${glibcMajor}.${glibcCap} of ${target.runtime.name} is not glibc 2.x`,
      { exitCode: 2 },
    );
  }
  const platforms: string[] = [];
  for (let minor = glibcCap; minor >= oldestManylinuxGlibcMinor(machine); minor--) {
    platforms.push(`manylinux_2_${minor}_${machine}`);
    const alias = legacyManylinuxAlias(minor, machine);
    if (alias !== undefined) platforms.push(`${alias}_${machine}`);
  }
  return platforms;
}

/** Every tag the target accepts, best first (index 0 is the most specific). */
export function compatibleTags(target: Target): Tag[] {
  const [major, minor] = target.runtime.python;
  const cpython = `cp${major}${minor}`;
  const platforms = platformTags(target);
  const tags: Tag[] = [];
  const addForEveryPlatform = (interpreter: string, abi: string): void => {
    for (const platform of platforms) tags.push({ interpreter, abi, platform });
  };

  // cpython_tags: the interpreter's own ABI, then the stable ABI, then no ABI; then the
  // stable ABI of every older CPython 3 down to 3.2, where abi3 begins (PEP 384). Lambda
  // runtimes are not free-threaded, so neither `cp3Xt` nor `abi3t` appears.
  addForEveryPlatform(cpython, cpython);
  addForEveryPlatform(cpython, "abi3");
  addForEveryPlatform(cpython, "none");
  for (let older = minor - 1; older >= 2; older--) {
    addForEveryPlatform(`cp${major}${older}`, "abi3");
  }

  // compatible_tags: pure-Python tags for this version, the major version, and every older
  // minor version, first with a platform and then with `any`.
  const pythonVersions = [`py${major}${minor}`, `py${major}`];
  for (let older = minor - 1; older >= 0; older--) pythonVersions.push(`py${major}${older}`);
  for (const interpreter of pythonVersions) addForEveryPlatform(interpreter, "none");
  tags.push({ interpreter: cpython, abi: "none", platform: "any" });
  for (const interpreter of pythonVersions) {
    tags.push({ interpreter, abi: "none", platform: "any" });
  }
  return tags;
}
