import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { checkLayer } from "../../src/check/index.js";
import { main } from "../../src/cli/main.js";
import { isPylayerError } from "../../src/errors.js";
import { FIXTURE_DIR } from "./fixtures.js";
import { installedDistribution, manifestFor, writeLayerZip } from "./layers.js";

const dir = mkdtempSync(join(tmpdir(), "pylayer-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("targets", () => {
  it("defaults to the runtimes and architectures of the zip's pylayer manifest", async () => {
    const path = await writeLayerZip(
      join(dir, "manifest.zip"),
      { "python/m.py": "" },
      {
        manifest: {
          runtimes: ["python3.11", "python3.12"],
          architectures: ["x86_64", "arm64"],
          layout: "python",
          packages: [],
        },
      },
    );
    const result = await checkLayer(path, { importTest: false });
    expect(result.targets).toEqual([
      "python3.11-x86_64",
      "python3.11-arm64",
      "python3.12-x86_64",
      "python3.12-arm64",
    ]);
  });

  it("needs --runtime for a zip from another tool, and assumes x86_64 (saying so)", async () => {
    const path = await writeLayerZip(join(dir, "foreign.zip"), { "python/m.py": "" });
    const error = await checkLayer(path).catch((caught: unknown) => caught);
    expect(isPylayerError(error) && error.code).toBe("usage");
    expect((error as Error).message).toContain("does not say which Lambda runtime");

    const result = await checkLayer(path, { runtimes: ["python3.12"], importTest: false });
    expect(result.targets).toEqual(["python3.12-x86_64"]);
    expect(result.findings.find((finding) => finding.code === "target-assumed")).toMatchObject({
      severity: "info",
    });
  });

  it("checks each target separately: an aarch64 library is wrong for x86_64 only", async () => {
    const path = await writeLayerZip(
      join(dir, "both.zip"),
      { "python/m/_m.abi3.so": readFileSync(join(FIXTURE_DIR, "aarch64-extension.so")) },
      {
        manifest: {
          runtimes: ["python3.12"],
          architectures: ["x86_64", "arm64"],
          layout: "python",
          packages: [],
        },
      },
    );
    const result = await checkLayer(path, { importTest: false });
    const wrong = result.findings.filter((finding) => finding.code === "elf-wrong-machine");
    expect(wrong.map((finding) => finding.target)).toEqual(["python3.12-x86_64"]);
  });
});

describe("pylayer check (command line)", () => {
  const written: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    written.length = 0;
  });
  const capture = () => {
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  };

  it("exits 1 on an error-level finding and lists every finding with its code in --json", async () => {
    const path = await writeLayerZip(
      join(dir, "cli-bad.zip"),
      installedDistribution("fast", "1.0", {
        "fast/_m.abi3.so": readFileSync(join(FIXTURE_DIR, "aarch64-extension.so")),
      }),
      { manifest: manifestFor("python3.11", "x86_64") },
    );
    capture();
    const code = await main(["check", path, "--json", "--no-import-test"], process.env);
    const output = JSON.parse(written.join(""));
    expect(code).toBe(1);
    expect(output.ok).toBe(false);
    expect(output.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: "elf-wrong-machine",
          severity: "error",
          file: "python/fast/_m.abi3.so",
          package: "fast 1.0",
        }),
        expect.objectContaining({ code: "size-summary", severity: "info" }),
      ]),
    );
  });

  it("exits 0 with warnings only, and prints them with hints", async () => {
    const path = await writeLayerZip(
      join(dir, "cli-warn.zip"),
      installedDistribution("nometa", "1.0", { "nometa/__init__.py": "" }, { omitMetadata: true }),
      { manifest: manifestFor("python3.12", "x86_64") },
    );
    capture();
    const code = await main(["check", path, "--no-import-test"], { ...process.env, NO_COLOR: "1" });
    const text = written.join("");
    expect(code).toBe(0);
    expect(text).toContain("warning ");
    expect(text).toContain("[metadata-missing; python3.12-x86_64, nometa 1.0]");
    expect(text).toContain("hint:");
    expect(text).toContain("✓ 0 errors, 1 warning");
  });

  it("groups many findings of one kind and package", async () => {
    const aarch64 = readFileSync(join(FIXTURE_DIR, "aarch64-extension.so"));
    const path = await writeLayerZip(
      join(dir, "cli-group.zip"),
      installedDistribution("fast", "1.0", {
        "fast/_a.abi3.so": aarch64,
        "fast/_b.abi3.so": aarch64,
        "fast/_c.abi3.so": aarch64,
      }),
      { manifest: manifestFor("python3.12", "x86_64") },
    );
    capture();
    const code = await main(["check", path, "--no-import-test"], { ...process.env, NO_COLOR: "1" });
    const text = written.join("");
    expect(code).toBe(1);
    expect(text.match(/elf-wrong-machine/g)).toHaveLength(1);
    expect(text).toContain("… and 2 more like it: python/fast/_b.abi3.so, python/fast/_c.abi3.so");
  });
});
