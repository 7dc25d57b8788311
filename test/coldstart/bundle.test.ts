/** Generating the runtime bundle: the archive, its name, the module's configuration, the sources. */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RuntimeBundleResult,
  runtimeModeTarget,
  runtimeSources,
} from "../../src/coldstart/index.js";
import { isPylayerError } from "../../src/errors.js";
import { pythonSource } from "../../src/python-sources.js";
import { ZipReader } from "../../src/zip/index.js";
import { DEMO_WHEELS } from "./fixtures.js";
import { bundleFromWheels } from "./helpers.js";

let root: string;
let bundle: RuntimeBundleResult;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pylayer-bundle-"));
  bundle = await bundleFromWheels(join(root, "first"), DEMO_WHEELS, ["demo"], {
    runtimes: ["python3.12"],
    s3: "s3://bucket/deps/",
    url: "https://example.com/archives/",
  });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("buildRuntimeBundle", () => {
  it("writes the python-layout zip named after its sha256", async () => {
    const archive = bundle.archive!;
    const bytes = await readFile(archive.path);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    expect(archive.sha256).toBe(sha256);
    expect(archive.name).toBe(`deps-${sha256.slice(0, 16)}.zip`);
    expect(archive.size).toBe(bytes.length);
    const reader = await ZipReader.open(archive.path);
    try {
      const names = reader.entries.map((entry) => entry.name);
      expect(names).toContain("python/demo/__init__.py");
      expect(names).toContain("python/helper/__init__.py");
      expect(names).toContain("bin/demo-tool");
      expect(names.every((name) => name.startsWith("python/") || name.startsWith("bin/"))).toBe(
        true,
      );
      const files = reader.entries.filter((entry) => !entry.isDirectory);
      expect(archive.fileCount).toBe(files.length);
      expect(archive.unzippedSize).toBe(
        files.reduce((total, entry) => total + entry.uncompressedSize, 0),
      );
      expect(archive.diskSize).toBe(
        4096 *
          (files.reduce((total, entry) => total + Math.ceil(entry.uncompressedSize / 4096), 0) +
            archive.directoryCount +
            1),
      );
    } finally {
      await reader.close();
    }
    expect((await readdir(join(root, "first", "task"))).sort()).toEqual(
      [archive.name, "pylayer_runtime.py"].sort(),
    );
  });

  it("writes the archive's facts into the module", async () => {
    const text = await readFile(bundle.modulePath!, "utf8");
    const archive = bundle.archive!;
    expect(text).toContain(`ARCHIVE_SHA256 = "${archive.sha256}"\n`);
    expect(text).toContain(`ARCHIVE_NAME = "${archive.name}"\n`);
    expect(text).toContain(`ARCHIVE_SIZE = ${archive.size}\n`);
    expect(text).toContain(`UNZIPPED_SIZE = ${archive.unzippedSize}\n`);
    expect(text).toContain(`DISK_SIZE = ${archive.diskSize}\n`);
    expect(text).toContain(`FILE_COUNT = ${archive.fileCount}\n`);
    expect(text).toContain(
      `SOURCES = ["${archive.name}", "s3://bucket/deps/${archive.name}", "https://example.com/archives/${archive.name}"]\n`,
    );
    expect(text).toContain('TARGET_PYTHON = "3.12"\nTARGET_ARCHITECTURE = "x86_64"\n');
    expect(text).toContain('PACKAGES = {"demo": "1.0", "helper": "2.1"}\n');
    expect(text).not.toContain("__PYLAYER_CONFIGURATION__");
  });

  it("gives the same archive and module bytes on a second build, and removes older archives", async () => {
    const second = join(root, "second");
    await mkdir(join(second, "task"), { recursive: true });
    const older = join(second, "task", "deps-0123456789abcdef.zip");
    const unrelated = join(second, "task", "deps-notes.zip");
    await writeFile(older, "old");
    await writeFile(unrelated, "keep");
    const again = await bundleFromWheels(second, DEMO_WHEELS, ["demo"], {
      runtimes: ["python3.12"],
      s3: "s3://bucket/deps/",
      url: "https://example.com/archives/",
    });
    expect(await readFile(again.archive!.path)).toEqual(await readFile(bundle.archive!.path));
    expect(await readFile(again.modulePath!, "utf8")).toBe(
      await readFile(bundle.modulePath!, "utf8"),
    );
    expect(again.removed).toEqual([older]);
    expect((await readdir(join(second, "task"))).sort()).toEqual(
      [again.archive!.name, "deps-notes.zip", "pylayer_runtime.py"].sort(),
    );
  });

  it("writes nothing on a dry run", async () => {
    const folder = join(root, "dry");
    const result = await bundleFromWheels(folder, DEMO_WHEELS, ["demo"], {
      runtimes: ["python3.12"],
      dryRun: true,
    });
    expect(result.archive).toBeUndefined();
    expect(result.packages.map((item) => `${item.name} ${item.version}`)).toEqual([
      "demo 1.0",
      "helper 2.1",
    ]);
    expect(await readdir(folder)).toEqual(["wheels"]);
  });

  it("refuses a zip path as the output folder", async () => {
    await expect(
      bundleFromWheels(join(root, "zip-output"), DEMO_WHEELS, ["demo"], {
        outputDir: join(root, "zip-output", "deps.zip"),
      }),
    ).rejects.toThrow(/runtime mode writes a folder/);
  });
});

describe("runtimeModeTarget", () => {
  it("accepts one runtime and one architecture, and defaults to python3.12 on x86_64", () => {
    expect(runtimeModeTarget({}).id).toBe("python3.12-x86_64");
    expect(runtimeModeTarget({ runtimes: ["python3.9"], architectures: ["arm64"] }).id).toBe(
      "python3.9-arm64",
    );
  });

  it.each([[{ runtimes: ["python3.11", "python3.12"] }], [{ architectures: ["x86_64", "arm64"] }]])(
    "refuses several targets (%j)",
    (options) => {
      expect(() => runtimeModeTarget(options)).toThrow(/runtime mode builds for one runtime/);
    },
  );
});

describe("runtimeSources", () => {
  const name = "deps-0123456789abcdef.zip";
  it.each([
    [{}, [name]],
    [{ bundled: false, s3: "s3://bucket" }, [`s3://bucket/${name}`]],
    [{ bundled: false, s3: "s3://bucket/" }, [`s3://bucket/${name}`]],
    [{ s3: "s3://bucket/a/b/" }, [name, `s3://bucket/a/b/${name}`]],
    [{ s3: "s3://bucket/a/deps.zip" }, [name, "s3://bucket/a/deps.zip"]],
    [{ url: "https://example.com/x/" }, [name, `https://example.com/x/${name}`]],
    [{ url: "https://example.com/x/deps.zip" }, [name, "https://example.com/x/deps.zip"]],
    [{ url: "https://example.com/x/?signature=1" }, [name, "https://example.com/x/?signature=1"]],
    [{ s3: "s3://b/k.zip", url: "https://h/k.zip" }, [name, "s3://b/k.zip", "https://h/k.zip"]],
  ])("%j gives %j", (options, expected) => {
    expect(runtimeSources(name, options)).toEqual(expected);
  });

  it.each([
    [{ s3: "https://bucket/key" }, /is not an S3 location/],
    [{ url: "ftp://example.com/x.zip" }, /is not an https URL/],
    [{ url: "https://user:secret@example.com/x.zip" }, /carries credentials/],
    [{ bundled: false }, /no place to find the archive/],
  ])("refuses %j", (options, message) => {
    let caught: unknown;
    try {
      runtimeSources(name, options);
    } catch (error) {
      caught = error;
    }
    expect(isPylayerError(caught)).toBe(true);
    expect(String((caught as Error).message)).toMatch(message);
    expect(String((caught as Error).message)).not.toContain("secret");
  });
});

describe("the module's source", () => {
  it("documents every environment variable it reads", () => {
    const source = pythonSource("coldstart/pylayer_runtime.py");
    const [docstring] = source.split('"""\n\nimport', 1);
    const read = new Set(
      [...source.matchAll(/os\.environ\.get\("([A-Z_0-9]+)"/g)].map((match) => match[1]!),
    );
    const ownVariables = [...read].filter((name) => name.startsWith("PYLAYER_"));
    expect(ownVariables.length).toBeGreaterThanOrEqual(7);
    for (const name of ownVariables) expect(docstring, name).toContain(`  ${name} `);
  });
});
