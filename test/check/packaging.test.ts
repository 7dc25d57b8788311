import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CheckResult, checkLayer, type Finding } from "../../src/check/index.js";
import { installedDistribution, type LayerContent, writeLayerZip } from "./layers.js";

const dir = mkdtempSync(join(tmpdir(), "pylayer-packaging-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
async function check(
  files: Record<string, LayerContent>,
  runtime = "python3.11",
  architecture = "x86_64",
): Promise<CheckResult> {
  const path = await writeLayerZip(join(dir, `layer-${counter++}.zip`), files);
  return checkLayer(path, {
    runtimes: [runtime],
    architectures: [architecture],
    importTest: false,
  });
}

function withCode(result: CheckResult, code: string): Finding[] {
  return result.findings.filter((finding) => finding.code === code);
}

/** A PEP 552 .pyc header: magic, flags (bit 0 set = hash-based), then mtime+size or the hash. */
function pyc(hashBased: boolean): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt16LE(3495, 0); // CPython 3.11's magic number
  header.write("\r\n", 2, "latin1");
  header.writeUInt32LE(hashBased ? 1 : 0, 4);
  return header;
}

describe("layout", () => {
  it("accepts a plain python/ layer without findings beyond the size summary", async () => {
    const result = await check(installedDistribution("good", "1.0", { "good/__init__.py": "" }));
    expect(result.findings.map((finding) => finding.code)).toEqual(["size-summary"]);
    expect(result.ok).toBe(true);
  });

  it("accepts the site-packages layout of the runtime's own version", async () => {
    const result = await check(
      installedDistribution(
        "good",
        "1.0",
        { "good/__init__.py": "" },
        {
          siteDir: "python/lib/python3.12/site-packages",
        },
      ),
      "python3.12",
    );
    expect(result.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
  });

  it("warns about packages at the zip root, which Lambda's /opt does not import from", async () => {
    const result = await check({
      "requests/__init__.py": "",
      "six.py": "",
      "requests-2.0.dist-info/METADATA": "Name: requests\n",
      "python/ok.py": "",
      "bin/tool": "#!/bin/sh\n",
      "lib/libz.so.1": "not really",
    });
    const names = withCode(result, "layout-root-package").map((finding) => finding.file);
    expect(names.sort()).toEqual([
      "requests-2.0.dist-info/METADATA",
      "requests/__init__.py",
      "six.py",
    ]);
    expect(withCode(result, "layout-root-package")[0]!.severity).toBe("warning");
  });

  it("warns about another Python version's site-packages, and errors when nothing is importable", async () => {
    const result = await check(
      installedDistribution(
        "pkg",
        "1.0",
        { "pkg/__init__.py": "" },
        {
          siteDir: "python/lib/python3.12/site-packages",
        },
      ),
      "python3.11",
    );
    expect(withCode(result, "layout-other-python-version")[0]).toMatchObject({
      severity: "warning",
      details: { pythonVersion: "3.12", files: 3 },
    });
    expect(withCode(result, "layout-nothing-importable")[0]!.severity).toBe("error");
    expect(result.ok).toBe(false);
  });

  it("warns about __pycache__ of other versions and timestamp-based .pyc files, not hash-based ones", async () => {
    const result = await check(
      installedDistribution("pkg", "1.0", {
        "pkg/__init__.py": "",
        "pkg/a.py": "",
        "pkg/b.py": "",
        "pkg/__pycache__/__init__.cpython-312.pyc": pyc(false),
        "pkg/__pycache__/a.cpython-312.opt-1.pyc": pyc(false),
        "pkg/__pycache__/a.cpython-311.pyc": pyc(false),
        "pkg/__pycache__/b.cpython-311.pyc": pyc(true),
      }),
    );
    expect(withCode(result, "pycache-other-version")[0]).toMatchObject({
      severity: "warning",
      details: { tag: "cpython-312", files: 2 },
    });
    expect(withCode(result, "timestamp-pyc")[0]).toMatchObject({
      severity: "warning",
      file: "python/pkg/__pycache__/a.cpython-311.pyc",
      package: "pkg 1.0",
      details: { files: 1 },
      // Issue 18, point 14: pylayer's own remedy first.
      hint: expect.stringMatching(/^Rebuild with pylayer build --compile .* or --slim/),
    });
  });
});

describe("Python-level checks", () => {
  it("warns about a dist-info without RECORD or METADATA", async () => {
    const result = await check({
      ...installedDistribution(
        "norecord",
        "1.0",
        { "norecord/__init__.py": "" },
        { omitRecord: true },
      ),
      ...installedDistribution(
        "nometa",
        "2.0",
        { "nometa/__init__.py": "" },
        { omitMetadata: true },
      ),
    });
    expect(withCode(result, "record-missing")[0]).toMatchObject({
      severity: "warning",
      package: "norecord 1.0",
    });
    expect(withCode(result, "metadata-missing")[0]).toMatchObject({
      severity: "warning",
      file: "python/nometa-2.0.dist-info/",
    });
  });

  it("reports a top-level module in RECORD that is gone (error) and files deleted after install (warning)", async () => {
    const files = installedDistribution("trimmed", "1.0", {
      "trimmed/__init__.py": "",
      "trimmed/data.txt": "x",
      "helper.py": "",
    });
    delete files["python/trimmed/__init__.py"];
    delete files["python/trimmed/data.txt"];
    const result = await check(files);
    expect(withCode(result, "top-level-missing")[0]).toMatchObject({
      severity: "error",
      package: "trimmed 1.0",
      file: "python/trimmed",
    });
    expect(withCode(result, "record-file-missing")[0]).toMatchObject({
      severity: "warning",
      details: { files: 2 },
    });
  });

  it("warns when top_level.txt names a module that is not there", async () => {
    const result = await check(
      installedDistribution(
        "stale",
        "1.0",
        { "stale/__init__.py": "" },
        { topLevel: ["stale", "old_name"] },
      ),
    );
    const findings = withCode(result, "top-level-missing");
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: "warning" });
    expect(findings[0]!.message).toContain("old_name");
  });

  it("reports files written by two distributions", async () => {
    const result = await check({
      ...installedDistribution("opencv-python", "4.0", { "cv2/__init__.py": "a" }),
      ...installedDistribution("opencv-python-headless", "4.0", { "cv2/__init__.py": "a" }),
    });
    expect(withCode(result, "file-overwritten")[0]).toMatchObject({
      severity: "warning",
      file: "python/cv2/__init__.py",
      details: { packages: ["opencv-python 4.0", "opencv-python-headless 4.0"], files: 1 },
    });
  });

  it("checks extension module tags against the runtime (PEP 3149, abi3)", async () => {
    // Table: file name → error for python3.11 on x86_64?
    const cases: [string, boolean][] = [
      ["m.cpython-311-x86_64-linux-gnu.so", false],
      ["m.abi3.so", false],
      ["m.so", false],
      ["m.cpython-312-x86_64-linux-gnu.so", true],
      ["m.cpython-311-aarch64-linux-gnu.so", true],
      ["m.cpython-311-darwin.so", true],
      ["m.cpython-313t-x86_64-linux-gnu.so", true],
      ["m.pypy39-pp73-x86_64-linux-gnu.so", true],
    ];
    for (const [name, isError] of cases) {
      const result = await check({ [`python/pkg/${name}`]: "", "python/pkg/__init__.py": "" });
      const findings = withCode(result, "extension-abi-mismatch");
      expect(findings.length, name).toBe(isError ? 1 : 0);
      if (isError) expect(findings[0]!.severity).toBe("error");
    }
  });

  it("warns about Windows extension modules", async () => {
    const result = await check({
      "python/pkg/__init__.py": "",
      "python/pkg/_speedups.cp311-win_amd64.pyd": "MZ",
    });
    expect(withCode(result, "foreign-extension")[0]).toMatchObject({ severity: "warning" });
  });
});
