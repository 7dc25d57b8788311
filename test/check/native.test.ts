import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CheckResult, checkLayer, type Finding } from "../../src/check/index.js";
import { librarySearchDirs, mayBeNative } from "../../src/check/native.js";
import { buildElf, buildPe, type ElfSpec } from "./elf-builder.js";
import { FIXTURE_DIR } from "./fixtures.js";
import { installedDistribution, type LayerContent, writeLayerZip } from "./layers.js";
import {
  compilerTitle,
  compileShared,
  GCC11_CXX_SOURCE,
  GCC12_CXX_SOURCE,
  HAS_GCC,
  HAS_GXX,
  NEWER_GLIBC_SOURCE,
  OLD_GLIBC_SOURCE,
} from "./native-build.js";

const dir = mkdtempSync(join(tmpdir(), "pylayer-native-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOST_MACHINE = process.arch === "arm64" ? 183 : 62;
const HOST_ARCH = process.arch === "arm64" ? "arm64" : "x86_64";

let counter = 0;
async function check(
  files: Record<string, LayerContent>,
  runtime: string,
  architecture: string = HOST_ARCH,
  kind: "layer" | "function" = "layer",
): Promise<CheckResult> {
  const path = await writeLayerZip(join(dir, `layer-${counter++}.zip`), files);
  return checkLayer(path, {
    kind,
    runtimes: [runtime],
    architectures: [architecture],
    importTest: false,
  });
}

function withCode(result: CheckResult, code: string): Finding[] {
  return result.findings.filter((finding) => finding.code === code);
}

/** A package `fastthing` whose extension module is `bytes`, installed under python/. */
function extensionPackage(bytes: Buffer, extra: Record<string, LayerContent> = {}) {
  return installedDistribution("fastthing", "1.0", {
    "fastthing/__init__.py": "from ._native import *\n",
    "fastthing/_native.abi3.so": bytes,
    ...extra,
  });
}

describe("machine and file format (checked-in fixtures)", () => {
  it("reports an aarch64 extension module in an x86_64 layer, naming file and package", async () => {
    const result = await check(
      installedDistribution("fastthing", "1.0", {
        "fastthing/__init__.py": "",
        "fastthing/_native.abi3.so": readFileSync(join(FIXTURE_DIR, "aarch64-extension.so")),
      }),
      "python3.11",
      "x86_64",
    );
    const [finding] = withCode(result, "elf-wrong-machine");
    expect(finding).toMatchObject({
      severity: "error",
      file: "python/fastthing/_native.abi3.so",
      package: "fastthing 1.0",
      target: "python3.11-x86_64",
    });
    expect(finding!.message).toContain("built for aarch64");
    expect(finding!.hint).toContain("--arch x86_64");
    expect(result.ok).toBe(false);
  });

  it("accepts the same file for arm64", async () => {
    const result = await check(
      {
        "python/fastthing/__init__.py": "",
        "python/fastthing/_native.abi3.so": readFileSync(join(FIXTURE_DIR, "aarch64-extension.so")),
      },
      "python3.12",
      "arm64",
    );
    expect(withCode(result, "elf-wrong-machine")).toEqual([]);
    expect(withCode(result, "glibc-too-new")).toEqual([]);
    // Its RUNPATH ($ORIGIN/../example.libs) and needs are all satisfied by glibc.
    expect(withCode(result, "library-missing")).toEqual([]);
  });

  it("reports the aarch64 fixture's GLIBC_2.28 need on python3.11 arm64 (glibc 2.26)", async () => {
    const result = await check(
      {
        "python/fastthing/_native.abi3.so": readFileSync(join(FIXTURE_DIR, "aarch64-extension.so")),
      },
      "python3.11",
      "arm64",
    );
    expect(withCode(result, "glibc-too-new")[0]).toMatchObject({
      severity: "error",
      details: { needs: ["GLIBC_2.28"], provided: "GLIBC_2.26" },
    });
  });

  it("says a macOS Mach-O is not an ELF file (error) and a text .so is suspicious (warning)", async () => {
    const result = await check(
      {
        "python/fastthing/__init__.py": "",
        "python/fastthing/_speedups.cpython-311-darwin.so": readFileSync(
          join(FIXTURE_DIR, "macos-arm64-bundle.so"),
        ),
        "python/fastthing/libwin.so": buildPe(0x8664),
        "python/fastthing/libscript.so": "/* GNU ld script */\nINPUT(-lfoo)\n",
        "bin/tool": "#!/bin/sh\necho hi\n",
      },
      "python3.11",
    );
    const notElf = withCode(result, "not-elf");
    expect(notElf.map((finding) => [finding.file, finding.severity])).toEqual(
      expect.arrayContaining([
        ["python/fastthing/_speedups.cpython-311-darwin.so", "error"],
        ["python/fastthing/libwin.so", "error"],
        ["python/fastthing/libscript.so", "warning"],
      ]),
    );
    expect(notElf).toHaveLength(3);
    expect(notElf.find((finding) => finding.file?.endsWith("darwin.so"))!.message).toContain(
      "not an ELF file (a macOS Mach-O arm64 bundle)",
    );
  });

  it("reports a damaged ELF file as unreadable", async () => {
    const damaged = readFileSync(join(FIXTURE_DIR, "aarch64-extension.so")).subarray(0, 150);
    const result = await check(
      { "python/fastthing/_native.abi3.so": damaged },
      "python3.12",
      "arm64",
    );
    expect(withCode(result, "elf-unreadable")[0]).toMatchObject({ severity: "warning" });
  });
});

describe("libraries and symbol versions of generated ELF files", () => {
  const elf = (spec: Omit<ElfSpec, "machine">) => buildElf({ machine: HOST_MACHINE, ...spec });

  it("reports a library the base image lacks (libGL.so.1 on Amazon Linux 2) as an error with its source", async () => {
    const result = await check(
      { "python/cv/_cv.abi3.so": elf({ needed: ["libc.so.6", "libGL.so.1"] }) },
      "python3.11",
    );
    const [finding] = withCode(result, "library-missing");
    expect(finding!.severity).toBe("error");
    expect(finding!.message).toContain("libGL.so.1");
    expect(finding!.message).toContain("lambci/docker-lambda issue 318");
  });

  it("reports libraries whose presence is not confirmed as unverified warnings", async () => {
    const result = await check(
      { "python/crypto/_ssl.abi3.so": elf({ needed: ["libc.so.6", "libssl.so.3"] }) },
      "python3.12",
    );
    expect(withCode(result, "library-missing")).toEqual([]);
    const [finding] = withCode(result, "library-unverified");
    expect(finding).toMatchObject({ severity: "warning", details: { needed: "libssl.so.3" } });
    expect(finding!.message).toContain("unverified");
    expect(result.ok).toBe(true);
  });

  it("does not compare versions needed from a library the layer ships", async () => {
    const needsBundled = elf({
      needed: ["libstdc++-abc123.so.6.0.32"],
      versionNeeds: [{ file: "libstdc++-abc123.so.6.0.32", versions: ["GLIBCXX_3.4.32"] }],
      runpath: "$ORIGIN/../fastthing.libs",
    });
    const result = await check(
      {
        "python/fastthing/_native.abi3.so": needsBundled,
        "python/fastthing.libs/libstdc++-abc123.so.6.0.32": elf({
          soname: "libstdc++-abc123.so.6.0.32",
        }),
      },
      "python3.11",
    );
    expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
  });

  it("compares GLIBCXX/CXXABI with Amazon Linux 2023's GCC 11 and flags the unconfirmed GCC 14 range", async () => {
    const needs = (versions: string[]) =>
      elf({ needed: ["libstdc++.so.6"], versionNeeds: [{ file: "libstdc++.so.6", versions }] });
    // Table: versions needed → (code, severity) on python3.12 (certain up to 3.4.29 / 1.3.13;
    // 3.4.33 / 1.3.15 in AL2023 images since 2025, unconfirmed for Lambda).
    const cases: [string[], string | undefined, string | undefined][] = [
      [["GLIBCXX_3.4.29", "CXXABI_1.3.13"], undefined, undefined],
      [["GLIBCXX_3.4.30"], "libstdcxx-unverified", "warning"],
      [["CXXABI_1.3.15"], "libstdcxx-unverified", "warning"],
      [["GLIBCXX_3.4.34"], "glibcxx-too-new", "error"],
      [["CXXABI_1.3.16"], "cxxabi-too-new", "error"],
    ];
    for (const [versions, code, severity] of cases) {
      const result = await check({ "python/x/_x.abi3.so": needs(versions) }, "python3.12");
      const relevant = result.findings.filter((finding) =>
        /libstdcxx|glibcxx|cxxabi/.test(finding.code),
      );
      if (code === undefined) expect(relevant, versions.join()).toEqual([]);
      else
        expect(
          relevant.map((finding) => [finding.code, finding.severity]),
          versions.join(),
        ).toEqual([[code, severity]]);
    }
  });

  it("explains a library found in the layer but not on the file's search path", async () => {
    const result = await check(
      {
        "python/fastthing/_native.abi3.so": elf({ needed: ["libhelper.so.1"] }),
        "python/other.libs/libhelper.so.1": elf({ soname: "libhelper.so.1" }),
      },
      "python3.12",
    );
    expect(withCode(result, "library-not-on-search-path")[0]).toMatchObject({
      severity: "warning",
      details: { needed: "libhelper.so.1", foundAt: "python/other.libs/libhelper.so.1" },
    });
  });

  it("searches a function package's root and lib/ (/var/task, /var/task/lib on LD_LIBRARY_PATH) and says so", async () => {
    const needs = elf({ needed: ["libhelper.so.1"], runpath: "$ORIGIN/../deps" });
    const helper = elf({ soname: "libhelper.so.1" });
    // At the zip root: found in a function package (/var/task), not in a layer (/opt).
    const atRoot = { "fastthing/_native.abi3.so": needs, "libhelper.so.1": helper };
    const libraryFindings = (result: CheckResult) =>
      result.findings.filter((finding) => finding.code.startsWith("library-"));
    expect(libraryFindings(await check(atRoot, "python3.12", HOST_ARCH, "function"))).toEqual([]);
    expect(libraryFindings(await check(atRoot, "python3.12")).map((f) => f.code)).toEqual([
      "library-not-on-search-path",
    ]);
    // Elsewhere: the message and hint name /var/task, never /opt.
    const elsewhere = await check(
      { "fastthing/_native.abi3.so": needs, "other.libs/libhelper.so.1": helper },
      "python3.12",
      HOST_ARCH,
      "function",
    );
    const [finding] = withCode(elsewhere, "library-not-on-search-path");
    expect(finding!.message).toContain(
      "which the function package has at other.libs/libhelper.so.1, but not on this file's search path (/var/task, /var/task/lib, /var/task/deps)",
    );
    expect(finding!.hint).toContain(
      "the function package's lib/ folder (/var/task/lib is on LD_LIBRARY_PATH)",
    );
    expect(`${finding!.message} ${finding!.hint}`).not.toContain("/opt");
  });

  it("lets bundled libraries inherit the DT_RPATH of the object that loads them (auditwheel's layout)", async () => {
    const bundled = {
      "python/pkg.libs/libA-1234.so.1": elf({
        soname: "libA-1234.so.1",
        needed: ["libB-5678.so.2"],
      }),
      "python/pkg.libs/libB-5678.so.2": elf({ soname: "libB-5678.so.2", needed: ["libc.so.6"] }),
    };
    const withRpath = await check(
      {
        "python/pkg/_ext.abi3.so": elf({
          needed: ["libA-1234.so.1"],
          rpath: "$ORIGIN/../pkg.libs",
        }),
        ...bundled,
      },
      "python3.12",
    );
    expect(withRpath.findings.filter((finding) => finding.code.startsWith("library-"))).toEqual([]);
    // DT_RUNPATH is not inherited: libA finds libB only by luck.
    const withRunpath = await check(
      {
        "python/pkg/_ext.abi3.so": elf({
          needed: ["libA-1234.so.1"],
          runpath: "$ORIGIN/../pkg.libs",
        }),
        ...bundled,
      },
      "python3.12",
    );
    expect(
      withRunpath.findings
        .filter((finding) => finding.code.startsWith("library-"))
        .map((finding) => [finding.code, finding.file]),
    ).toEqual([["library-not-on-search-path", "python/pkg.libs/libA-1234.so.1"]]);
  });

  it("follows $ORIGIN in DT_RPATH/DT_RUNPATH the way the loader does", () => {
    const base = {
      elfClass: 64 as const,
      endianness: "little" as const,
      type: 3,
      machine: 62,
      machineName: "x86_64",
      dynamic: true,
      needed: [],
      versionNeeds: [],
    };
    expect(
      librarySearchDirs("python/numpy/_core/_x.so", {
        ...base,
        rpath: [],
        runpath: ["$ORIGIN/../../numpy.libs"],
      }),
    ).toEqual(["lib", "python/numpy.libs"]);
    // DT_RPATH is searched before LD_LIBRARY_PATH, and ignored when DT_RUNPATH exists.
    expect(
      librarySearchDirs("python/a/_x.so", {
        ...base,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the loader's ${ORIGIN} syntax
        rpath: ["${ORIGIN}/libs", "/usr/lib64"],
        runpath: [],
      }),
    ).toEqual(["python/a/libs", "lib"]);
    expect(
      librarySearchDirs("python/a/_x.so", {
        ...base,
        rpath: ["$ORIGIN/libs"],
        runpath: ["/opt/python/a/more"],
      }),
    ).toEqual(["lib", "python/a/more"]);
  });
});

describe.skipIf(!HAS_GCC || !HAS_GXX)(
  compilerTitle("libraries built by this machine's gcc"),
  () => {
    const build = (
      name: string,
      source: string,
      options: Parameters<typeof compileShared>[3] = {},
    ) => compileShared(dir, name, source, options);

    it("reports GLIBC_2.34 / GLIBC_2.28 needs on python3.11 (glibc 2.26) and accepts them on python3.12 (2.34)", async () => {
      const files = extensionPackage(build("libnew.so", NEWER_GLIBC_SOURCE));
      const old = await check(files, "python3.11");
      const [finding] = withCode(old, "glibc-too-new");
      expect(finding).toMatchObject({
        severity: "error",
        file: "python/fastthing/_native.abi3.so",
        package: "fastthing 1.0",
        details: { needs: ["GLIBC_2.28", "GLIBC_2.34"], provided: "GLIBC_2.26" },
      });
      expect(finding!.message).toContain("needs GLIBC_2.34");
      expect(finding!.hint).toContain("manylinux_2_26");
      expect(old.ok).toBe(false);

      const newer = await check(
        installedDistribution("fastthing", "1.0", {
          "fastthing/_native.abi3.so": build("libnew2.so", NEWER_GLIBC_SOURCE),
        }),
        "python3.12",
      );
      expect(withCode(newer, "glibc-too-new")).toEqual([]);
    });

    it("accepts a library needing only old glibc symbols", async () => {
      const result = await check(
        extensionPackage(build("libold.so", OLD_GLIBC_SOURCE)),
        "python3.11",
      );
      expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
    });

    it("reports a DT_NEEDED library that is not shipped, and finds it in lib/ or through $ORIGIN", async () => {
      build("libstub.so", "int stub(void) { return 1; }", { args: ["-Wl,-soname,libstub.so.1"] });
      const stub = readFileSync(join(dir, "libstub.so"));
      const user = build("libuser.so", "int stub(void); int use(void) { return stub(); }", {
        args: ["-L.", "-lstub"],
      });
      const missing = await check(extensionPackage(user), "python3.11");
      const [finding] = withCode(missing, "library-missing");
      expect(finding).toMatchObject({
        severity: "error",
        package: "fastthing 1.0",
        details: { needed: "libstub.so.1" },
      });
      expect(finding!.hint).toContain("lib/");

      const inLib = await check(
        { ...extensionPackage(user), "lib/libstub.so.1": stub },
        "python3.11",
      );
      expect(withCode(inLib, "library-missing")).toEqual([]);

      for (const dtags of ["--disable-new-dtags", "--enable-new-dtags"]) {
        const withOrigin = build(
          `libuser-${dtags}.so`,
          "int stub(void); int use(void) { return stub(); }",
          {
            args: ["-L.", "-lstub", "-Wl,-rpath,$ORIGIN/../fastthing.libs", `-Wl,${dtags}`],
          },
        );
        const result = await check(
          { ...extensionPackage(withOrigin), "python/fastthing.libs/libstub.so.1": stub },
          "python3.11",
        );
        expect(
          result.findings.filter((item) => item.code.startsWith("library-")),
          dtags,
        ).toEqual([]);
      }
    });

    it("reports GLIBCXX_3.4.29 / CXXABI_1.3.13 on python3.11 (GCC 7 libstdc++) but not on python3.12 (GCC 11)", async () => {
      const files = extensionPackage(build("libcxx.so", GCC11_CXX_SOURCE, { cplusplus: true }));
      const old = await check(files, "python3.11");
      expect(withCode(old, "glibcxx-too-new")[0]).toMatchObject({
        severity: "error",
        details: { needs: ["GLIBCXX_3.4.29"], provided: "GLIBCXX_3.4.24" },
      });
      expect(withCode(old, "cxxabi-too-new")[0]).toMatchObject({
        severity: "error",
        details: { needs: ["CXXABI_1.3.13"], provided: "CXXABI_1.3.11" },
      });
      const newer = await check(files, "python3.12");
      expect(newer.findings.filter((finding) => /cxx/.test(finding.code))).toEqual([]);
    });

    it("warns (unverified) about GLIBCXX_3.4.30 from GCC 12 on python3.12", async () => {
      const result = await check(
        extensionPackage(build("libcxx12.so", GCC12_CXX_SOURCE, { cplusplus: true })),
        "python3.12",
      );
      expect(withCode(result, "libstdcxx-unverified")[0]).toMatchObject({
        severity: "warning",
        details: { needs: ["GLIBCXX_3.4.30"] },
      });
      expect(result.ok).toBe(true);
    });
  },
);

describe("mayBeNative", () => {
  const cases: [name: string, expected: boolean][] = [
    ["python/pkg/_speedups.cpython-311-x86_64-linux-gnu.so", true],
    ["python/pkg.libs/libgfortran-040039e1.so.5.0.0", true],
    ["python/numpy.libs/libopenblas", true],
    ["python/a.libs/b/c", true],
    ["x.libs/data", true],
    ["python/.libs/data", false],
    ["python/pkg/libs/data", false],
    ["python/pkg/sonar.py", false],
    ["python/pkg/so/x.py", false],
    ["python/pkg/x.so.py", false],
    ["python/pkg/x.so.1", true],
    ["python/pkg/x.so.1.a", false],
    ["bin/tool", true],
    ["lib/libfoo.a", true],
    ["lib64/x", true],
    ["python/bin/tool", false],
  ];
  for (const [name, expected] of cases) {
    it(`${name}: ${expected ? "read" : "not read"}`, () => {
      const entry = { name, isDirectory: false, isSymlink: false } as Parameters<
        typeof mayBeNative
      >[0];
      expect(mayBeNative(entry)).toBe(expected);
    });
  }
});
