import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { describe, expect, it, vi } from "vitest";
import { findRuntime } from "../../src/runtime/index.js";
import { layoutFor, parseRecord, planWheelInstall } from "../../src/wheel/index.js";
import { ZipReader } from "../../src/zip/index.js";
import { buildWheel, type WheelSpec } from "../helpers/wheels.js";
import { useTemporaryFolders } from "../zip/helpers.js";
import { installWheel, planWheel, readZip } from "./helpers.js";

const temporaryFolder = useTemporaryFolders();

const SO_BYTES = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);

/**
 * Checks the installed RECORD against the files in the layer zip: every installed file of
 * the wheel is listed once with its sha256 and size, RECORD lists itself with no hash.
 */
async function expectRecordMatches(zipPath: string, siteDir: string, distInfo: string) {
  const files = await readZip(zipPath);
  const recordFile = files.get(`${distInfo}/RECORD`);
  expect(recordFile, "RECORD present").toBeDefined();
  const rows = parseRecord(recordFile!.data.toString("utf8"));
  const listed = new Set<string>();
  for (const row of rows) {
    const zipName = posix.normalize(posix.join(siteDir, row.path));
    listed.add(zipName);
    const file = files.get(zipName);
    expect(file, `${row.path} exists in the zip`).toBeDefined();
    if (zipName === `${distInfo}/RECORD`) {
      expect(row).toEqual({ path: row.path, hash: "", size: undefined });
      continue;
    }
    expect(row.hash, row.path).toBe(
      `sha256=${createHash("sha256").update(file!.data).digest("base64url")}`,
    );
    expect(row.size, row.path).toBe(file!.data.length);
  }
  expect([...listed].sort()).toEqual([...files.keys()].sort());
  expect(rows.map((row) => row.path)).toEqual(
    [...rows.map((row) => row.path)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  return { files, rows };
}

describe("planWheelInstall: layouts", () => {
  it("installs a purelib wheel into the python layout", async () => {
    const folder = await temporaryFolder();
    const { plan, zipPath } = await installWheel(folder, {
      name: "Demo.Pkg",
      version: "1.0",
      files: { "demo_pkg/__init__.py": "x = 1\n", "demo_pkg/sub/mod.py": "y = 2\n" },
    });
    expect(plan.name).toBe("Demo.Pkg");
    expect(plan.version).toBe("1.0");
    expect(plan.distInfo).toBe("python/Demo_Pkg-1.0.dist-info");
    expect(plan.entries.map((entry) => entry.name)).toEqual([
      "python/Demo_Pkg-1.0.dist-info/INSTALLER",
      "python/Demo_Pkg-1.0.dist-info/METADATA",
      "python/Demo_Pkg-1.0.dist-info/RECORD",
      "python/Demo_Pkg-1.0.dist-info/WHEEL",
      "python/demo_pkg/__init__.py",
      "python/demo_pkg/sub/mod.py",
    ]);
    expect(plan.skipped).toEqual([
      { path: "Demo_Pkg-1.0.dist-info/RECORD", reason: "rewritten for the installed files" },
    ]);
    expect(plan.topLevel).toEqual(["demo_pkg"]);
    const { files } = await expectRecordMatches(zipPath, "python", plan.distInfo);
    expect(files.get("python/Demo_Pkg-1.0.dist-info/INSTALLER")!.data.toString()).toBe("pylayer\n");
    expect(files.get("python/demo_pkg/sub/mod.py")!.data.toString()).toBe("y = 2\n");
  });

  it("installs a platlib wheel (Root-Is-Purelib: false) into site-packages for the runtime", async () => {
    const folder = await temporaryFolder();
    const { plan, zipPath } = await installWheel(
      folder,
      {
        name: "fastthing",
        version: "2.1",
        tag: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        files: {
          "fastthing/__init__.py": "from ._speed import go\n",
          "fastthing/_speed.cpython-311-x86_64-linux-gnu.so": SO_BYTES,
          "fastthing.libs/libz-123.so.1": SO_BYTES,
        },
      },
      "site-packages",
      "python3.11",
    );
    const site = "python/lib/python3.11/site-packages";
    expect(plan.distInfo).toBe(`${site}/fastthing-2.1.dist-info`);
    expect(plan.entries.map((entry) => entry.name)).toContain(
      `${site}/fastthing/_speed.cpython-311-x86_64-linux-gnu.so`,
    );
    expect(plan.entries.map((entry) => entry.name)).toContain(
      `${site}/fastthing.libs/libz-123.so.1`,
    );
    expect(plan.entries.every((entry) => entry.name.startsWith(`${site}/`))).toBe(true);
    expect(plan.topLevel).toEqual(["fastthing"]);
    await expectRecordMatches(zipPath, site, plan.distInfo);
  });

  it("maps .data schemes: purelib and platlib to the site folder, data to the zip root, headers skipped", async () => {
    const folder = await temporaryFolder();
    const { plan, zipPath } = await installWheel(folder, {
      name: "mixed",
      version: "1.0",
      tag: "cp312-cp312-manylinux_2_28_x86_64",
      files: { "mixed/__init__.py": "" },
      data: {
        purelib: { "mixed_pure/__init__.py": "pure = True\n" },
        platlib: { "mixed_plat.cpython-312-x86_64-linux-gnu.so": SO_BYTES },
        data: { "share/man/man1/mixed.1": ".TH MIXED 1\n" },
        headers: { "mixed.h": "#define MIXED 1\n" },
      },
    });
    expect(plan.entries.map((entry) => entry.name).sort()).toEqual([
      "python/mixed-1.0.dist-info/INSTALLER",
      "python/mixed-1.0.dist-info/METADATA",
      "python/mixed-1.0.dist-info/RECORD",
      "python/mixed-1.0.dist-info/WHEEL",
      "python/mixed/__init__.py",
      "python/mixed_plat.cpython-312-x86_64-linux-gnu.so",
      "python/mixed_pure/__init__.py",
      "share/man/man1/mixed.1",
    ]);
    expect(plan.skipped).toContainEqual({
      path: "mixed-1.0.data/headers/mixed.h",
      reason: "C headers are not needed at run time",
    });
    expect(plan.topLevel).toEqual(["mixed", "mixed_plat", "mixed_pure"]);
    const { rows } = await expectRecordMatches(zipPath, "python", plan.distInfo);
    expect(rows.map((row) => row.path)).toContain("../share/man/man1/mixed.1");
  });

  it("writes RECORD paths outside the site folder relative to it in the site-packages layout", async () => {
    const folder = await temporaryFolder();
    const { plan, zipPath } = await installWheel(
      folder,
      {
        name: "tooly",
        version: "1.0",
        consoleScripts: { tooly: "tooly:main" },
        data: {
          data: { "etc/tooly.conf": "x\n" },
          scripts: { "tooly-sh": "#!/bin/sh\necho hi\n" },
        },
      },
      "site-packages",
      "python3.13",
    );
    const { rows } = await expectRecordMatches(
      zipPath,
      "python/lib/python3.13/site-packages",
      plan.distInfo,
    );
    expect(rows.map((row) => row.path)).toEqual(
      expect.arrayContaining([
        "../../../../bin/tooly",
        "../../../../bin/tooly-sh",
        "../../../../etc/tooly.conf",
        "tooly-1.0.dist-info/RECORD",
      ]),
    );
  });

  it("rejects an unknown .data scheme and files directly in .data", async () => {
    const folder = await temporaryFolder();
    const specs: WheelSpec[] = [
      { name: "odd", version: "1.0", data: { config: { "x.cfg": "x" } } },
      { name: "odd", version: "1.0", rawEntries: { "odd-1.0.data/loose.txt": "x" } },
    ];
    for (const spec of specs) {
      const wheel = buildWheel(spec);
      const wheelPath = join(folder, wheel.filename);
      await writeFile(wheelPath, wheel.bytes);
      await expect(planWheel(wheelPath)).rejects.toMatchObject({
        code: "invalid-wheel",
        message: expect.stringContaining("odd-1.0.data"),
      });
    }
  });
});

describe("planWheelInstall: modes and scripts", () => {
  it("keeps executable bits as 0755 and everything else as 0644", async () => {
    const folder = await temporaryFolder();
    const { zipPath } = await installWheel(folder, {
      name: "modes",
      version: "1.0",
      files: {
        "modes/__init__.py": "",
        "modes/helper": "#!/bin/sh\n",
        "modes/data.txt": "d\n",
      },
      modes: {
        "modes/helper": 0o100775,
        "modes/data.txt": 0o100600,
      },
      data: { scripts: { "run-it": "#!/bin/sh\necho run\n" } },
    });
    const files = await readZip(zipPath);
    expect(files.get("python/modes/helper")!.mode).toBe(0o100755);
    expect(files.get("python/modes/data.txt")!.mode).toBe(0o100644);
    expect(files.get("python/modes/__init__.py")!.mode).toBe(0o100644);
    expect(files.get("bin/run-it")!.mode).toBe(0o100755);
    expect(files.get("bin/run-it")!.data.toString()).toBe("#!/bin/sh\necho run\n");
  });

  it("generates console and GUI scripts and rewrites #!python scripts", async () => {
    const folder = await temporaryFolder();
    const { plan, zipPath } = await installWheel(folder, {
      name: "clitool",
      version: "3.0",
      consoleScripts: { clitool: "clitool.cli:main" },
      guiScripts: { "clitool-gui": "clitool.gui:App.run" },
      files: { "clitool/__init__.py": "" },
      data: { scripts: { "legacy-tool": "#!python\nprint('legacy')\n" } },
    });
    const files = await readZip(zipPath);
    const console = files.get("bin/clitool")!;
    expect(console.mode).toBe(0o100755);
    const consoleText = console.data.toString();
    expect(consoleText.startsWith("#!/bin/sh\n'''true'\n")).toBe(true);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: sh parameter expansion
    expect(consoleText).toContain('"${PYLAYER_PYTHON:-/var/lang/bin/python3.12}" "$0" "$@"');
    expect(consoleText).toContain("from clitool.cli import main\n");
    expect(consoleText).toContain("sys.exit(main())");
    expect(files.get("bin/clitool-gui")!.data.toString()).toContain("sys.exit(App.run())");
    const legacy = files.get("bin/legacy-tool")!;
    expect(legacy.mode).toBe(0o100755);
    expect(legacy.data.toString().startsWith("#!/bin/sh\n")).toBe(true);
    expect(legacy.data.toString().endsWith("\nprint('legacy')\n")).toBe(true);
    expect(legacy.data.toString()).not.toContain("#!python");
    await expectRecordMatches(zipPath, "python", plan.distInfo);
  });

  it("lets an entry point script replace a .data script of the same name", async () => {
    const folder = await temporaryFolder();
    const { plan } = await installWheel(folder, {
      name: "twice",
      version: "1.0",
      consoleScripts: { twice: "twice:main" },
      data: { scripts: { twice: "#!python\nprint('old')\n" } },
    });
    expect(plan.skipped).toContainEqual({
      path: "twice-1.0.data/scripts/twice",
      reason: "replaced by the entry point script of that name",
    });
    expect(plan.entries.filter((entry) => entry.name === "bin/twice")).toHaveLength(1);
  });

  it("refuses script names that are paths", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({
      name: "sneaky",
      version: "1.0",
      consoleScripts: { "../evil": "sneaky:main" },
    });
    const wheelPath = join(folder, wheel.filename);
    await writeFile(wheelPath, wheel.bytes);
    await expect(planWheel(wheelPath)).rejects.toMatchObject({ code: "unsafe-wheel" });
  });
});

describe("planWheelInstall: console-script names (issue 19, point 16)", () => {
  // The entry points spec allows nearly any name; a layer's bin/ gets only plain file names.
  it.each([
    ["x;id", false],
    ["$(id)", false],
    ["`id`", false],
    ["a b", false],
    ["x|y", false],
    ["x&y", false],
    ["x>y", false],
    ["-rf", false],
    [".hidden", false],
    ["tab\tname", false],
    ["quote'd", false],
    ["star*", false],
    ["tooly", true],
    ["django-admin", true],
    ["pip3.11", true],
    ["easy_install-3.8", true],
    ["c++filt", true],
    ["café", true],
  ])("%j is installed: %s", async (name, installed) => {
    const folder = await temporaryFolder();
    const { plan } = await installWheel(folder, {
      name: "tooly",
      version: "1.0",
      consoleScripts: { [name]: "tooly:main", keep: "tooly:main" },
    });
    const scripts = plan.entries
      .map((entry) => entry.name)
      .filter((path) => path.startsWith("bin/"))
      .sort();
    expect(scripts).toEqual(installed ? [`bin/${name}`, "bin/keep"].sort() : ["bin/keep"]);
    if (installed) {
      expect(plan.warnings).toEqual([]);
    } else {
      expect(plan.warnings).toHaveLength(1);
      expect(plan.warnings[0]).toContain(
        `console_scripts entry ${JSON.stringify(name)} was skipped`,
      );
      expect(plan.warnings[0]).toContain("tooly-1.0-py3-none-any.whl");
    }
  });
});

describe("planWheelInstall: dist-info files", () => {
  it("adds INSTALLER (overridable), drops RECORD signatures and an INSTALLER from the wheel", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({
      name: "signed",
      version: "1.0",
      rawEntries: {
        "signed-1.0.dist-info/RECORD.jws": "{}",
        "signed-1.0.dist-info/INSTALLER": "someone-else\n",
      },
    });
    const wheelPath = join(folder, wheel.filename);
    await writeFile(wheelPath, wheel.bytes);
    const reader = await ZipReader.open(wheelPath);
    const plan = await planWheelInstall(
      wheelPath,
      reader,
      layoutFor("python", findRuntime("python3.12")),
      { installer: "pylayer-test" },
    );
    await reader.close();
    const installer = plan.entries.find((entry) => entry.name.endsWith("/INSTALLER"))!;
    expect(installer.source).toMatchObject({ kind: "bytes", data: Buffer.from("pylayer-test\n") });
    expect(plan.skipped.map((skip) => skip.path).sort()).toEqual([
      "signed-1.0.dist-info/INSTALLER",
      "signed-1.0.dist-info/RECORD",
      "signed-1.0.dist-info/RECORD.jws",
    ]);
    expect(plan.entries.some((entry) => entry.name.endsWith("RECORD.jws"))).toBe(false);
  });

  it("takes the wheel file name from options when the path does not end in it", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({ name: "cached", version: "1.0" });
    const wheelPath = join(folder, "0123abcd.bin");
    await writeFile(wheelPath, wheel.bytes);
    const reader = await ZipReader.open(wheelPath);
    const layout = layoutFor("python", findRuntime("python3.12"));
    await expect(planWheelInstall(wheelPath, reader, layout)).rejects.toMatchObject({
      code: "invalid-wheel-filename",
      message: expect.stringContaining("0123abcd.bin"),
    });
    const plan = await planWheelInstall(wheelPath, reader, layout, {
      wheelFilename: wheel.filename,
    });
    await reader.close();
    expect(plan.name).toBe("cached");
    const copied = plan.entries.find((entry) => entry.name === "python/cached/__init__.py")!;
    expect(copied.source).toMatchObject({ kind: "zip", archivePath: wheelPath });
  });

  it("copies payload raw and reads only the metadata files", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({
      name: "lazy",
      version: "1.0",
      files: {
        "lazy/__init__.py": "a = 1\n".repeat(100),
        "lazy/big.py": "b = 2\n".repeat(1000),
        "lazy-1.0.dist-info/top_level.txt": "lazy\n",
      },
      consoleScripts: { lazy: "lazy:main" },
      data: { scripts: { "lazy-old": "#!python\n", "lazy-sh": "#!/bin/sh\n" } },
    });
    const wheelPath = join(folder, wheel.filename);
    await writeFile(wheelPath, wheel.bytes);
    const reader = await ZipReader.open(wheelPath);
    const read = vi.spyOn(reader, "read");
    const readRaw = vi.spyOn(reader, "readRaw");
    const plan = await planWheelInstall(
      wheelPath,
      reader,
      layoutFor("python", findRuntime("python3.12")),
    );
    await reader.close();
    expect(read.mock.calls.map(([entry]) => entry.name).sort()).toEqual([
      "lazy-1.0.data/scripts/lazy-old",
      "lazy-1.0.data/scripts/lazy-sh",
      "lazy-1.0.dist-info/METADATA",
      "lazy-1.0.dist-info/RECORD",
      "lazy-1.0.dist-info/WHEEL",
      "lazy-1.0.dist-info/entry_points.txt",
      "lazy-1.0.dist-info/top_level.txt",
    ]);
    const big = plan.entries.find((entry) => entry.name === "python/lazy/big.py")!;
    expect(big.source.kind).toBe("zip");
    expect(readRaw.mock.calls.map(([entry]) => entry.name)).not.toContain("lazy/big.py");
  });

  it("takes top-level names from top_level.txt when present", async () => {
    const folder = await temporaryFolder();
    const { plan } = await installWheel(folder, {
      name: "pyyaml",
      version: "6.0",
      files: {
        "yaml/__init__.py": "",
        "_yaml/__init__.py": "",
        "pyyaml-6.0.dist-info/top_level.txt": "yaml\n_yaml\n\n",
      },
    });
    expect(plan.topLevel).toEqual(["_yaml", "yaml"]);
  });

  it("derives top-level names: packages, namespace packages, modules, extension modules", async () => {
    const folder = await temporaryFolder();
    const { plan } = await installWheel(folder, {
      name: "many",
      version: "1.0",
      files: {
        "pkg/__init__.py": "",
        "pkg/__pycache__/x.cpython-312.pyc": "",
        "google/protobuf/__init__.py": "",
        "single.py": "",
        "_native.cpython-312-x86_64-linux-gnu.so": SO_BYTES,
        "_stable.abi3.so": SO_BYTES,
        "many.libs/libx.so": SO_BYTES,
        "__pycache__/single.cpython-312.pyc": "",
        "data-files/readme.txt": "",
        "many.pth": "import os\n",
      },
    });
    expect(plan.topLevel).toEqual(["_native", "_stable", "google", "pkg", "single"]);
  });
});

describe("planWheelInstall: rejected wheels", () => {
  // Entries that could escape the layer (binary distribution format, and pip/uv practice).
  const unsafeEntries: { label: string; spec: Partial<WheelSpec> }[] = [
    { label: "a '..' segment", spec: { rawEntries: { "../escape.py": "x" } } },
    { label: "a nested '..' segment", spec: { rawEntries: { "pkg/../../escape.py": "x" } } },
    { label: "an absolute path", spec: { rawEntries: { "/etc/passwd": "x" } } },
    { label: "a drive letter", spec: { rawEntries: { "C:/windows/x.py": "x" } } },
    { label: "a backslash", spec: { rawEntries: { "pkg\\x.py": "x" } } },
    {
      label: "a symbolic link",
      spec: {
        files: { "pkg/__init__.py": "", "pkg/link": "/etc/passwd" },
        modes: { "pkg/link": 0o120777 },
      },
    },
  ];
  for (const { label, spec } of unsafeEntries) {
    it(`rejects an entry with ${label} as unsafe-wheel, naming wheel and entry`, async () => {
      const folder = await temporaryFolder();
      const wheel = buildWheel({ name: "bad", version: "1.0", ...spec });
      const wheelPath = join(folder, wheel.filename);
      await writeFile(wheelPath, wheel.bytes);
      const error = await planWheel(wheelPath).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "unsafe-wheel" });
      const message = (error as Error).message;
      expect(message).toContain("bad-1.0-py3-none-any.whl");
      const entryName = Object.keys(spec.rawEntries ?? { "pkg/link": "" })[0]!;
      expect(message).toContain(entryName);
    });
  }

  const invalidWheels: { label: string; spec: WheelSpec; filename?: string; message: RegExp }[] = [
    {
      label: "a missing RECORD",
      spec: { name: "norecord", version: "1.0", omitRecord: true },
      message: /no norecord-1\.0\.dist-info\/RECORD/,
    },
    {
      label: "a file missing from RECORD",
      spec: { name: "unlisted", version: "1.0", rawEntries: { "unlisted/extra.py": "x" } },
      message: /unlisted\/extra\.py is not listed/,
    },
    {
      label: "a RECORD size that does not match",
      spec: {
        name: "wrongsize",
        version: "1.0",
        rawEntries: {
          "wrongsize-1.0.dist-info/RECORD":
            "wrongsize/__init__.py,sha256=AAAA,999\nwrongsize-1.0.dist-info/METADATA,sha256=AAAA,\nwrongsize-1.0.dist-info/WHEEL,sha256=AAAA,\nwrongsize-1.0.dist-info/RECORD,,\n",
        },
      },
      message: /size of 999/,
    },
    {
      label: "a dist-info of another distribution",
      spec: { name: "real", version: "1.0" },
      filename: "other-1.0-py3-none-any.whl",
      message: /real-1\.0\.dist-info.*another distribution/,
    },
    {
      label: "a dist-info of another version",
      spec: { name: "real", version: "1.0" },
      filename: "real-2.0-py3-none-any.whl",
      message: /version differs/,
    },
    {
      label: "two dist-info folders",
      spec: { name: "double", version: "1.0", rawEntries: { "other-1.0.dist-info/METADATA": "x" } },
      message: /several \.dist-info folders/,
    },
    {
      label: "a missing WHEEL",
      spec: { name: "nowheel", version: "1.0", rawEntries: {} },
      message: /no nowheel-1\.0\.dist-info\/WHEEL/,
    },
    {
      label: "two files installed to one path",
      spec: {
        name: "clash",
        version: "1.0",
        files: { "clash/__init__.py": "a" },
        data: { purelib: { "clash/__init__.py": "b" } },
      },
      message: /both be installed as python\/clash\/__init__\.py/,
    },
  ];
  for (const { label, spec, filename, message } of invalidWheels) {
    it(`rejects a wheel with ${label}`, async () => {
      const folder = await temporaryFolder();
      let bytes = buildWheel(spec).bytes;
      if (label === "a missing WHEEL") bytes = withoutEntry(bytes, "nowheel-1.0.dist-info/WHEEL");
      const wheelPath = join(folder, filename ?? buildWheel(spec).filename);
      await writeFile(wheelPath, bytes);
      await expect(planWheel(wheelPath)).rejects.toMatchObject({
        code: "invalid-wheel",
        message: expect.stringMatching(message),
      });
    });
  }

  it("rejects a wheel without a dist-info folder", async () => {
    const folder = await temporaryFolder();
    const wheelPath = join(folder, "bare-1.0-py3-none-any.whl");
    await writeFile(wheelPath, zipSync({ "bare/__init__.py": new Uint8Array() }));
    await expect(planWheel(wheelPath)).rejects.toMatchObject({
      code: "invalid-wheel",
      message: expect.stringContaining("no .dist-info folder"),
    });
  });

  it("rejects a WHEEL with major version 2", async () => {
    const folder = await temporaryFolder();
    const spec = { name: "future", version: "1.0" };
    const wheel = buildWheel(spec);
    const entries = unzipToObject(wheel.bytes);
    entries["future-1.0.dist-info/WHEEL"] = new TextEncoder().encode(
      "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n",
    );
    const wheelPath = join(folder, wheel.filename);
    await writeFile(wheelPath, zipSync(entries));
    await expect(planWheel(wheelPath)).rejects.toMatchObject({
      code: "unsupported-wheel-version",
      message: expect.stringContaining("future-1.0-py3-none-any.whl"),
    });
  });
});

/** fflate is the independent zip implementation the test helpers use. */
function unzipToObject(bytes: Uint8Array): Record<string, Uint8Array> {
  return unzipSync(bytes);
}

function withoutEntry(bytes: Uint8Array, name: string): Uint8Array {
  const entries = unzipToObject(bytes);
  delete entries[name];
  return zipSync(entries);
}
