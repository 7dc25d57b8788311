import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ElfFormatError, identifyBinary, parseElf } from "../../src/check/elf.js";
import { buildElf, buildMachO, buildPe } from "./elf-builder.js";
import { FIXTURE_DIR } from "./fixtures.js";
import {
  compilerTitle,
  compileShared,
  GCC11_CXX_SOURCE,
  HAS_GCC,
  HAS_GXX,
  NEWER_GLIBC_SOURCE,
} from "./native-build.js";

describe("parseElf on the checked-in aarch64 fixture", () => {
  const bytes = readFileSync(join(FIXTURE_DIR, "aarch64-extension.so"));

  it("reads class, byte order, machine and the dynamic section", () => {
    const elf = parseElf(bytes);
    expect(elf).toMatchObject({
      elfClass: 64,
      endianness: "little",
      type: 3,
      machine: 183,
      machineName: "aarch64",
      dynamic: true,
      needed: ["libc.so.6", "libm.so.6", "libpthread.so.0"],
      soname: "_speedups.cpython-311-aarch64-linux-gnu.so",
      rpath: [],
      runpath: ["$ORIGIN/../example.libs"],
    });
  });

  it("reads the version-needed table with the library each version comes from", () => {
    expect(parseElf(bytes).versionNeeds).toEqual([
      { file: "libc.so.6", versions: ["GLIBC_2.17", "GLIBC_2.28"] },
      { file: "libm.so.6", versions: ["GLIBC_2.17"] },
    ]);
  });

  it("rejects the file cut short", () => {
    expect(() => parseElf(bytes.subarray(0, 200))).toThrow(ElfFormatError);
    expect(() => parseElf(bytes.subarray(0, 40))).toThrow(/truncated/);
  });
});

describe("parseElf on generated files of other classes and byte orders", () => {
  // Table: (class, byte order, machine) combinations the reader must handle (System V ABI).
  const cases = [
    { elfClass: 32 as const, bigEndian: true, machine: 20, name: "PowerPC" },
    { elfClass: 32 as const, bigEndian: false, machine: 3, name: "x86 (32-bit)" },
    { elfClass: 64 as const, bigEndian: true, machine: 22, name: "s390" },
    { elfClass: 64 as const, bigEndian: false, machine: 62, name: "x86_64" },
  ];
  for (const { elfClass, bigEndian, machine, name } of cases) {
    for (const sectionsOnly of [false, true]) {
      it(`ELF${elfClass} ${bigEndian ? "big" : "little"}-endian ${name}${sectionsOnly ? " (section headers only)" : ""}`, () => {
        const elf = parseElf(
          buildElf({
            machine,
            elfClass,
            bigEndian,
            sectionsOnly,
            needed: ["libc.so.6", "libz.so.1"],
            rpath: "$ORIGIN:/opt/lib",
            versionNeeds: [{ file: "libc.so.6", versions: ["GLIBC_2.0", "GLIBC_2.3.4"] }],
            ...(sectionsOnly ? {} : { interpreter: "/lib/ld.so.1" }),
          }),
        );
        expect(elf.elfClass).toBe(elfClass);
        expect(elf.endianness).toBe(bigEndian ? "big" : "little");
        expect(elf.machineName).toBe(name);
        expect(elf.needed).toEqual(["libc.so.6", "libz.so.1"]);
        expect(elf.rpath).toEqual(["$ORIGIN", "/opt/lib"]);
        expect(elf.versionNeeds).toEqual([
          { file: "libc.so.6", versions: ["GLIBC_2.0", "GLIBC_2.3.4"] },
        ]);
        expect(elf.interpreter).toBe(sectionsOnly ? undefined : "/lib/ld.so.1");
      });
    }
  }

  it("reports a file without a dynamic section as static", () => {
    const bytes = buildElf({ machine: 62, sectionsOnly: true });
    // Remove the section headers: nothing dynamic is left to find.
    bytes.writeBigUInt64LE(0n, 40);
    bytes.writeUInt16LE(0, 60);
    expect(parseElf(bytes)).toMatchObject({ dynamic: false, needed: [], versionNeeds: [] });
  });
});

describe("identifyBinary", () => {
  // Table: first bytes of the file → what Linux users are told it is.
  const cases: [string, Buffer, string, string | undefined][] = [
    ["ELF", buildElf({ machine: 62 }), "elf", undefined],
    [
      "checked-in Mach-O fixture",
      readFileSync(join(FIXTURE_DIR, "macos-arm64-bundle.so")),
      "mach-o",
      "a macOS Mach-O arm64 bundle",
    ],
    [
      "Mach-O x86_64 dylib",
      buildMachO(0x01000007, 6),
      "mach-o",
      "a macOS Mach-O x86_64 dynamic library",
    ],
    [
      "universal Mach-O",
      Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]),
      "mach-o",
      "a macOS universal (fat) Mach-O binary",
    ],
    ["Windows x64 DLL", buildPe(0x8664), "pe", "a Windows PE (DLL/EXE) x64 file"],
    [
      "text (a linker script)",
      Buffer.from("/* GNU ld script */\nGROUP ( libc.so.6 )\n"),
      "text",
      undefined,
    ],
    ["random bytes", Buffer.from([0, 1, 2, 3, 0xff, 0xfe]), "unknown", undefined],
  ];
  for (const [label, bytes, kind, description] of cases) {
    it(label, () => {
      const identity = identifyBinary(bytes);
      expect(identity.kind).toBe(kind);
      if (description !== undefined) expect(identity).toMatchObject({ description });
    });
  }
});

describe.skipIf(!HAS_GCC || !HAS_GXX)(compilerTitle("parseElf on files built by gcc"), () => {
  const dir = mkdtempSync(join(tmpdir(), "pylayer-elf-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the GLIBC versions a .symver-bound library needs from libc.so.6", () => {
    const elf = parseElf(compileShared(dir, "libnew.so", NEWER_GLIBC_SOURCE));
    expect(elf.machineName).toBe(process.arch === "arm64" ? "aarch64" : "x86_64");
    expect(elf.needed).toContain("libc.so.6");
    const libc = elf.versionNeeds.find((need) => need.file === "libc.so.6");
    expect(libc?.versions).toEqual(expect.arrayContaining(["GLIBC_2.34", "GLIBC_2.28"]));
  });

  it("reads SONAME, RPATH and RUNPATH as the linker wrote them", () => {
    compileShared(dir, "libstub.so", "int stub(void) { return 1; }", {
      args: ["-Wl,-soname,libstub.so.1"],
    });
    const withRpath = parseElf(
      compileShared(dir, "librpath.so", "int stub(void); int use(void) { return stub(); }", {
        args: ["-L.", "-lstub", "-Wl,-rpath,$ORIGIN/../stub.libs", "-Wl,--disable-new-dtags"],
      }),
    );
    expect(withRpath.needed).toContain("libstub.so.1");
    expect(withRpath.rpath).toEqual(["$ORIGIN/../stub.libs"]);
    expect(withRpath.runpath).toEqual([]);
    const withRunpath = parseElf(
      compileShared(dir, "librunpath.so", "int stub(void); int use(void) { return stub(); }", {
        args: [
          "-L.",
          "-lstub",
          "-Wl,-rpath,$ORIGIN",
          "-Wl,--enable-new-dtags",
          "-Wl,-soname,librunpath.so.2",
        ],
      }),
    );
    expect(withRunpath.runpath).toEqual(["$ORIGIN"]);
    expect(withRunpath.rpath).toEqual([]);
    expect(withRunpath.soname).toBe("librunpath.so.2");
  });

  it("reads GLIBCXX and CXXABI needs of a C++ library", () => {
    const elf = parseElf(compileShared(dir, "libcxx.so", GCC11_CXX_SOURCE, { cplusplus: true }));
    const libstdcxx = elf.versionNeeds.find((need) => need.file === "libstdc++.so.6");
    expect(libstdcxx?.versions).toEqual(
      expect.arrayContaining(["GLIBCXX_3.4.29", "CXXABI_1.3.13"]),
    );
  });
});
