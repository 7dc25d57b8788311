// Wheel compatibility per target: PEP 600 (manylinux_X_Y runs on glibc >= X.Y), PEP 513/571/599
// (legacy manylinux aliases), PEP 384 (cp3Y-abi3 runs on CPython >= 3.Y), PEP 425 tags.
// Expected priorities are read from the golden lists (packaging's order), not recomputed.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { makeTarget } from "../../src/runtime/index.js";
import {
  type Compatibility,
  INCOMPATIBILITY_CODES,
  parseWheelFilename,
  TagSelector,
  tagToString,
} from "../../src/tags/index.js";

function goldenTags(id: string): string[] {
  const url = new URL(`./golden/${id}.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { tags: string[] }).tags;
}

function check(runtime: string, architecture: string, filename: string): Compatibility {
  return new TagSelector(makeTarget(runtime, architecture)).check(parseWheelFilename(filename));
}

const NUMPY_AL2023_ONLY = "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";
const CRYPTOGRAPHY_2_28 = "cryptography-46.0.3-cp37-abi3-manylinux_2_28_x86_64.whl";
const CRYPTOGRAPHY_2014 =
  "cryptography-46.0.3-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
const PYDANTIC_CORE_ARM =
  "pydantic_core-2.41.5-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl";

describe("TagSelector.check: compatible wheels", () => {
  it.each([
    // Compressed sets rank by their best tag: 2_28 comes before 2_27 (newer glibc first).
    [
      "python3.12",
      "x86_64",
      "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
      "cp312-cp312-manylinux_2_28_x86_64",
    ],
    ["python3.12", "x86_64", CRYPTOGRAPHY_2_28, "cp37-abi3-manylinux_2_28_x86_64"],
    ["python3.13", "x86_64", CRYPTOGRAPHY_2_28, "cp37-abi3-manylinux_2_28_x86_64"],
    // The perennial tag ranks right before its legacy twin.
    ["python3.11", "x86_64", CRYPTOGRAPHY_2014, "cp37-abi3-manylinux_2_17_x86_64"],
    [
      "python3.9",
      "arm64",
      "cryptography-46.0.3-cp39-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
      "cp39-abi3-manylinux_2_17_aarch64",
    ],
    [
      "python3.9",
      "x86_64",
      "pkg-1.0-cp39-abi3-manylinux1_x86_64.whl",
      "cp39-abi3-manylinux1_x86_64",
    ],
    ["python3.12", "arm64", PYDANTIC_CORE_ARM, "cp312-cp312-manylinux_2_17_aarch64"],
    ["python3.12", "x86_64", "six-1.17.0-py2.py3-none-any.whl", "py3-none-any"],
    ["python3.9", "arm64", "typing_extensions-4.15.0-py3-none-any.whl", "py3-none-any"],
    ["python3.12", "x86_64", "pkg-1.0-cp312-none-any.whl", "cp312-none-any"],
    ["python3.14", "x86_64", "pkg-1.0-py38-none-any.whl", "py38-none-any"],
    [
      "python3.12",
      "x86_64",
      "orjson-3.10.0-cp312-cp312-manylinux_2_34_x86_64.whl",
      "cp312-cp312-manylinux_2_34_x86_64",
    ],
    [
      "python3.11",
      "x86_64",
      "ruff-0.8.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
      "py3-none-manylinux_2_17_x86_64",
    ],
  ])("%s %s accepts %s via %s", (runtime, architecture, filename, bestTag) => {
    const result = check(runtime, architecture, filename);
    expect(result).toEqual({
      compatible: true,
      priority: goldenTags(`${runtime}-${architecture}`).indexOf(bestTag),
      tag: expect.anything(),
    });
    if (result.compatible) expect(tagToString(result.tag)).toBe(bestTag);
  });

  it("ranks a CPython-ABI wheel before abi3 before pure Python", () => {
    const selector = new TagSelector(makeTarget("python3.12", "x86_64"));
    const priority = (filename: string): number => {
      const result = selector.check(parseWheelFilename(filename));
      if (!result.compatible) throw new Error(result.reason);
      return result.priority;
    };
    const cpython = priority("pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl");
    const abi3 = priority("pkg-1.0-cp38-abi3-manylinux_2_34_x86_64.whl");
    const pure = priority("pkg-1.0-py3-none-any.whl");
    expect(cpython).toBeLessThan(abi3);
    expect(abi3).toBeLessThan(pure);
  });
});

describe("TagSelector.check: incompatible wheels and their reasons", () => {
  it.each([
    // numpy >= 2.3 ships x86_64 wheels for glibc >= 2.27 only; AL2 has 2.26. Nearest: 2_27.
    [
      "python3.11",
      "x86_64",
      NUMPY_AL2023_ONLY,
      "glibc-too-new",
      "manylinux_2_27 needs glibc 2.27, python3.11 has 2.26",
    ],
    [
      "python3.11",
      "x86_64",
      CRYPTOGRAPHY_2_28,
      "glibc-too-new",
      "manylinux_2_28 needs glibc 2.28, python3.11 has 2.26",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp312-cp312-manylinux_2_35_x86_64.whl",
      "glibc-too-new",
      "manylinux_2_35 needs glibc 2.35, python3.12 has 2.34",
    ],
    [
      "python3.12",
      "x86_64",
      PYDANTIC_CORE_ARM,
      "wrong-arch",
      "built for aarch64, target is x86_64",
    ],
    [
      "python3.12",
      "arm64",
      "pydantic_core-2.41.5-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
      "wrong-arch",
      "built for x86_64, target is arm64 (aarch64)",
    ],
    [
      "python3.11",
      "arm64",
      PYDANTIC_CORE_ARM,
      "wrong-python",
      "built for CPython 3.12 (cp312), target is python3.11",
    ],
    [
      "python3.12",
      "x86_64",
      "numpy-1.26.4-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
      "wrong-python",
      "built for CPython 3.10 (cp310), target is python3.12",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp311-none-any.whl",
      "wrong-python",
      "built for CPython 3.11 (cp311), target is python3.12",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-py313-none-any.whl",
      "wrong-python",
      "built for Python 3.13 (py313), target is python3.12",
    ],
    [
      "python3.12",
      "x86_64",
      "futures-3.4.0-py2-none-any.whl",
      "wrong-python",
      "built for Python 2 (py2), target is python3.12",
    ],
    [
      "python3.11",
      "x86_64",
      "pkg-1.0-cp313-abi3-manylinux_2_17_x86_64.whl",
      "abi3-too-new",
      "cp313-abi3 needs Python ≥ 3.13, target is python3.11",
    ],
    [
      "python3.11",
      "x86_64",
      "mypkg-1.0-cp311-cp311-linux_x86_64.whl",
      "not-portable",
      "linux_x86_64 is not a portable platform tag (built on a developer machine); Lambda needs manylinux",
    ],
    [
      "python3.12",
      "x86_64",
      "pydantic_core-2.41.5-cp312-cp312-musllinux_1_1_x86_64.whl",
      "musllinux",
      "musllinux_1_1_x86_64 is for musl libc Linux (such as Alpine); Lambda runs glibc and needs manylinux",
    ],
    [
      "python3.12",
      "arm64",
      "pydantic_core-2.41.5-cp312-cp312-macosx_11_0_arm64.whl",
      "macos",
      "macosx_11_0_arm64 is a macOS platform tag; Lambda runs Linux and needs manylinux",
    ],
    [
      "python3.12",
      "x86_64",
      "pydantic_core-2.41.5-cp312-cp312-win_amd64.whl",
      "windows",
      "win_amd64 is a Windows platform tag; Lambda runs Linux and needs manylinux",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp312-cp312-win32.whl",
      "windows",
      "win32 is a Windows platform tag; Lambda runs Linux and needs manylinux",
    ],
    [
      "python3.10",
      "x86_64",
      "numpy-2.2.6-pp310-pypy310_pp73-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
      "wrong-interpreter",
      "built for PyPy (pp310), target is CPython (python3.10)",
    ],
    [
      "python3.14",
      "x86_64",
      "numpy-2.3.4-cp314-cp314t-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
      "wrong-abi",
      "cp314t is the free-threaded ABI of CPython; python3.14 on Lambda is not free-threaded",
    ],
    [
      "python3.13",
      "x86_64",
      "numpy-2.3.4-cp314-cp314t-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
      "wrong-python",
      "built for free-threaded CPython 3.14 (cp314t), target is python3.13",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp312-cp312d-manylinux_2_17_x86_64.whl",
      "wrong-abi",
      "ABI cp312d is not one python3.12 provides (cp312, abi3 or none)",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp312-cp312-pyodide_2024_0_wasm32.whl",
      "unknown-platform",
      "pyodide_2024_0_wasm32 is not a platform tag Lambda runs; Lambda needs manylinux",
    ],
    [
      "python3.12",
      "arm64",
      "pkg-1.0-cp312-cp312-manylinux_2_12_aarch64.whl",
      "unknown-platform",
      "manylinux_2_12_aarch64 is not a valid manylinux tag (manylinux for aarch64 starts at glibc 2.17)",
    ],
    [
      "python3.12",
      "arm64",
      "pkg-1.0-cp312-cp312-manylinux2010_aarch64.whl",
      "unknown-platform",
      "manylinux2010_aarch64 is not a valid manylinux tag (manylinux2010 is not defined for aarch64)",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp312-abi3-any.whl",
      "wrong-abi",
      'cp312-abi3-any pairs ABI abi3 with platform "any", which installers do not accept on python3.12 on x86_64',
    ],
  ])("%s %s rejects %s: %s", (runtime, architecture, filename, code, reason) => {
    expect(check(runtime, architecture, filename)).toEqual({ compatible: false, code, reason });
  });
});

describe("TagSelector.check: the nearest miss among expanded tags", () => {
  it.each([
    // One defect beats two: py3 on macOS is only wrong about the platform.
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-py2.py3-none-macosx_10_9_x86_64.whl",
      "macos",
      "macosx_10_9_x86_64 is a macOS platform tag; Lambda runs Linux and needs manylinux",
    ],
    // glibc before architecture: the x86_64 tag needs a newer runtime, the aarch64 one another arch.
    [
      "python3.11",
      "x86_64",
      "pkg-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux_2_28_x86_64.whl",
      "glibc-too-new",
      "manylinux_2_28 needs glibc 2.28, python3.11 has 2.26",
    ],
    // Architecture before Python version.
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp311.cp312-cp311.cp312-manylinux_2_17_aarch64.whl",
      "wrong-arch",
      "built for aarch64, target is x86_64",
    ],
    // Among Python mismatches, the closest version.
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp39.cp310-cp39.cp310-manylinux_2_17_x86_64.whl",
      "wrong-python",
      "built for CPython 3.10 (cp310), target is python3.12",
    ],
    // A tag wrong only about the platform beats tags also wrong about Python.
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp39.cp310.cp311-abi3.none-win_amd64.whl",
      "windows",
      "win_amd64 is a Windows platform tag; Lambda runs Linux and needs manylinux",
    ],
    [
      "python3.10",
      "x86_64",
      "pkg-1.0-cp313.cp312-abi3-manylinux_2_17_x86_64.whl",
      "abi3-too-new",
      "cp312-abi3 needs Python ≥ 3.12, target is python3.10",
    ],
    // Two defects in the only tag: both are reported, the higher-precedence one first.
    [
      "python3.12",
      "x86_64",
      "numpy-1.21.0-cp39-cp39-macosx_10_9_x86_64.whl",
      "wrong-python",
      "built for CPython 3.9 (cp39), target is python3.12; also macosx_10_9_x86_64 is a macOS platform tag; Lambda runs Linux and needs manylinux",
    ],
    [
      "python3.12",
      "x86_64",
      "pkg-1.0-cp310-cp310-manylinux_2_17_aarch64.whl",
      "wrong-arch",
      "built for aarch64, target is x86_64; also built for CPython 3.10 (cp310), target is python3.12",
    ],
  ])("%s %s rejects %s: %s", (runtime, architecture, filename, code, reason) => {
    expect(check(runtime, architecture, filename)).toEqual({ compatible: false, code, reason });
  });

  it("reports only codes from INCOMPATIBILITY_CODES", () => {
    const selector = new TagSelector(makeTarget("python3.11", "arm64"));
    for (const filename of [
      NUMPY_AL2023_ONLY,
      CRYPTOGRAPHY_2_28,
      "pkg-1.0-py2-none-any.whl",
      "pkg-1.0-jy27-none-any.whl",
      "pkg-1.0-cp311-cp311-ios_13_0_arm64_iphoneos.whl",
    ]) {
      const result = selector.check(parseWheelFilename(filename));
      expect(result.compatible).toBe(false);
      if (!result.compatible) expect(INCOMPATIBILITY_CODES).toContain(result.code);
    }
  });
});

describe("TagSelector", () => {
  it("agrees with its own tag list: every listed tag has its index as priority", () => {
    const selector = new TagSelector(makeTarget("python3.13", "arm64"));
    selector.tags.forEach((tag, index) => {
      expect(selector.priorityOf(tag)).toBe(index);
    });
    expect(
      selector.priorityOf({ interpreter: "cp313", abi: "cp313", platform: "linux_aarch64" }),
    ).toBeUndefined();
  });
});
