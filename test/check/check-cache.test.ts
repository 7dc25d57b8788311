/**
 * Check results as cached data (src/check/reuse.ts): the static result of a zip by its
 * sha256 + targets + options, and the facts of each wheel by its sha256, both keyed by the
 * checker version. What is reused, what is invalidated, and what a damaged entry does.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { CheckResult } from "../../src/check/index.js";
import { WHOLE_WHEEL_LIMIT } from "../../src/check/reuse.js";
import type { BuildOptions } from "../../src/pipeline/index.js";
import { buildCollecting } from "../helpers/build.js";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";
import { buildElf } from "./elf-builder.js";

let server: IndexServer;

/** An x86_64 extension needing GLIBC_2.28: too new for python3.11 (glibc 2.26), fine for 3.12. */
const extension = buildElf({
  machine: 62,
  needed: ["libc.so.6"],
  versionNeeds: [{ file: "libc.so.6", versions: ["GLIBC_2.17", "GLIBC_2.28"] }],
});

beforeAll(async () => {
  server = await startIndexServer([
    buildWheel({ name: "app", version: "1.0", requires: ["helper", "fast"] }),
    buildWheel({ name: "helper", version: "2.0" }),
    buildWheel({
      name: "extra",
      version: "3.0",
      files: { "extra/__init__.py": "", "extra-3.0.dist-info/top_level.txt": "extra\n" },
    }),
    buildWheel({
      name: "fast",
      version: "1.0",
      tag: "py3-none-manylinux_2_17_x86_64",
      files: { "fast/__init__.py": "", "fast/_speedups.abi3.so": extension },
    }),
  ]);
});
afterAll(async () => {
  await server?.close();
});

async function build(home: string, options: Partial<BuildOptions> = {}) {
  const { result, events } = await buildCollecting(server.url, home, {
    requirements: ["app"],
    runtimes: ["python3.11"],
    check: true,
    ...options,
  });
  const check = result.checks?.[0] as CheckResult;
  return { result, check, events };
}

const codes = (check: CheckResult) => check.findings.map((finding) => finding.code).sort();
const checkEntries = async (home: string, kind: "layers" | "wheels") => {
  const folder = join(home, "cache", "checks-v1", kind);
  if (kind === "layers") {
    return (await readdir(folder))
      .filter((name) => name.endsWith(".json"))
      .map((name) => join(folder, name));
  }
  const paths: string[] = [];
  for (const prefix of await readdir(folder)) {
    for (const name of await readdir(join(folder, prefix))) paths.push(join(folder, prefix, name));
  }
  return paths;
};

describe("cached check results", () => {
  it("checks an unchanged layer once; the reused result has the same findings", async () => {
    const home = await temporaryFolder();
    const first = await build(home);
    expect(first.check.cache).toEqual({ result: "computed", wheelsReused: 0, wheelsRead: 3 });
    expect(codes(first.check)).toContain("glibc-too-new");
    expect(first.check.ok).toBe(false);

    const second = await build(home);
    expect(second.check.cache).toEqual({ result: "reused", wheelsReused: 0, wheelsRead: 0 });
    const strip = ({ durationMs: _d, cache: _c, path: _p, ...rest }: CheckResult) => rest;
    expect(strip(second.check)).toEqual(strip(first.check));
  });

  it("reads only the new wheel of a changed layer, and finds what a full check finds", async () => {
    const home = await temporaryFolder();
    await build(home);
    const changed = await build(home, { requirements: ["app", "extra"] });
    expect(changed.check.cache).toEqual({ result: "computed", wheelsReused: 3, wheelsRead: 1 });

    const { checkLayer } = await import("../../src/check/index.js");
    const full = await checkLayer(changed.result.zips[0]!.path, { importTest: false });
    expect(full.cache).toBeUndefined();
    expect(changed.check.findings).toEqual(full.findings);
    expect(changed.check.elfFiles).toBe(1);
  });

  it("takes a changed layer's dist-info texts from the wheels' facts and the build, not the zip", async () => {
    const home = await temporaryFolder();
    await build(home);
    const { ZipReader } = await import("../../src/zip/index.js");
    const reads = vi.spyOn(ZipReader.prototype, "read");
    try {
      const changed = await build(home, { requirements: ["app", "extra"] });
      const zip = changed.result.zips[0]!.path;
      const fromZip = reads.mock.calls
        .filter(
          (_, index) => (reads.mock.contexts[index] as { name?: string } | undefined)?.name === zip,
        )
        .map(([entry]) => entry.name);
      // What pylayer wrote itself (RECORD, INSTALLER) is verified, each entry read once;
      // the raw copies of METADATA and top_level.txt are not read at all.
      const distInfo = fromZip.filter((name) => /\.dist-info\//.test(name));
      expect(distInfo.filter((name) => /\/(METADATA|top_level\.txt)$/.test(name))).toEqual([]);
      expect(new Set(distInfo).size).toBe(distInfo.length);
      expect(changed.check.cache).toEqual({ result: "computed", wheelsReused: 3, wheelsRead: 1 });
    } finally {
      reads.mockRestore();
    }
    // The facts keep a METADATA's headers (not its body) and top_level.txt as text.
    const facts = await Promise.all(
      (await checkEntries(home, "wheels")).map(async (path) => {
        const stored = JSON.parse(await readFile(path, "utf8")) as { payload: string };
        return JSON.parse(stored.payload) as { entries: Record<string, { text?: string }> };
      }),
    );
    const extra = facts.find((wheel) => "extra-3.0.dist-info/METADATA" in wheel.entries)!;
    expect(extra.entries["extra-3.0.dist-info/METADATA"]!.text).toBe(
      "Metadata-Version: 2.1\nName: extra\nVersion: 3.0",
    );
    expect(extra.entries["extra-3.0.dist-info/top_level.txt"]?.text).toBe("extra\n");
  });

  it("keeps no METADATA text over 64 KiB with a wheel's facts, and reads it from the zip", async () => {
    const bigServer = await startIndexServer([
      buildWheel({
        name: "wordy",
        version: "1.0",
        metadataLines: Array.from(
          { length: 1200 },
          (_, index) => `Classifier: Topic :: ${"x".repeat(50)} ${index}`,
        ),
      }),
    ]);
    try {
      const home = await temporaryFolder();
      const { result } = await buildCollecting(bigServer.url, home, {
        requirements: ["wordy"],
        runtimes: ["python3.11"],
        check: true,
      });
      const check = result.checks?.[0] as CheckResult;
      expect(check.ok).toBe(true);
      expect(check.findings.filter((finding) => finding.code === "metadata-missing")).toEqual([]);
      const [path] = await checkEntries(home, "wheels");
      const stored = JSON.parse(await readFile(path!, "utf8")) as { payload: string };
      const facts = JSON.parse(stored.payload) as {
        entries: Record<string, { text?: string; uncompressedSize: number }>;
      };
      const metadata = facts.entries["wordy-1.0.dist-info/METADATA"]!;
      expect(metadata.uncompressedSize).toBeGreaterThan(64 * 1024);
      expect(metadata.text).toBeUndefined();
    } finally {
      await bigServer.close();
    }
  });

  it("checks again for another target, from the same wheel facts", async () => {
    const home = await temporaryFolder();
    await build(home);
    const other = await build(home, { runtimes: ["python3.12"] });
    expect(other.check.cache).toEqual({ result: "computed", wheelsReused: 3, wheelsRead: 0 });
    // The facts are the same; the findings are the new target's (glibc 2.34 has 2.28).
    expect(codes(other.check)).not.toContain("glibc-too-new");
    expect(other.check.ok).toBe(true);
  });

  it("reads each wheel's cached facts once for all the zips of one build", async () => {
    const home = await temporaryFolder();
    // Two targets, two zips (fast is not pure), the same three wheels in each.
    const { Cache } = await import("../../src/cache/index.js");
    const reads = vi.spyOn(Cache.prototype, "getCheck");
    try {
      const { result } = await build(home, {
        runtimes: ["python3.11", "python3.12"],
        output: "layers",
      });
      expect(result.zips).toHaveLength(2);
      const checks = result.checks as CheckResult[];
      expect(checks.map((check) => check.cache)).toEqual([
        { result: "computed", wheelsReused: 0, wheelsRead: 3 },
        { result: "computed", wheelsReused: 3, wheelsRead: 0 },
      ]);
      // Looked up (and missed) for the first zip; the second takes what the first read.
      const wheelReads = reads.mock.calls.filter(([kind]) => kind === "wheels");
      expect(wheelReads).toHaveLength(3);
    } finally {
      reads.mockRestore();
    }
  });

  it("reuses nothing written by another checker version", async () => {
    const home = await temporaryFolder();
    const epoch = (seconds: string) => ({ env: isolatedEnv(home, { SOURCE_DATE_EPOCH: seconds }) });
    await build(home);
    vi.resetModules();
    vi.doMock("../../src/check/version.js", () => ({ CHECKER_VERSION: 1_000_000 }));
    try {
      // The same zip (from the cache of built layers), checked by another version.
      const same = await build(home);
      expect(same.check.cache?.result).toBe("computed");
      // A new zip (another timestamp): every wheel is read again.
      const rebuilt = await build(home, epoch("1700000000"));
      expect(rebuilt.check.cache).toEqual({ result: "computed", wheelsReused: 0, wheelsRead: 3 });
    } finally {
      vi.doUnmock("../../src/check/version.js");
      vi.resetModules();
    }
    // Back at this version, its own wheel facts are still there.
    const again = await build(home, epoch("1800000000"));
    expect(again.check.cache).toEqual({ result: "computed", wheelsReused: 3, wheelsRead: 0 });
  });

  it("evicts a damaged zip result and checks again, saying so", async () => {
    const home = await temporaryFolder();
    const first = await build(home);
    const [entry] = await checkEntries(home, "layers");
    const stored = JSON.parse(await readFile(entry!, "utf8"));
    // A finding removed behind the checksum's back: the entry no longer matches it.
    stored.payload = stored.payload.replace("glibc-too-new", "glibc-too-old");
    await writeFile(entry!, JSON.stringify(stored));

    const second = await build(home);
    expect(second.check.cache?.result).toBe("computed");
    expect(codes(second.check)).toEqual(codes(first.check));
    expect(
      second.events.some(
        (event) =>
          event.type === "warning" && /cached check result .* was corrupt/.test(event.message),
      ),
    ).toBe(true);
    const third = await build(home);
    expect(third.check.cache?.result).toBe("reused");
  });

  it("evicts damaged wheel facts and reads that wheel again", async () => {
    const home = await temporaryFolder();
    await build(home);
    for (const entry of await checkEntries(home, "wheels")) {
      const text = await readFile(entry, "utf8");
      if (text.includes("_speedups")) await writeFile(entry, text.slice(0, text.length / 2));
    }
    const rebuilt = await build(home, {
      env: isolatedEnv(home, { SOURCE_DATE_EPOCH: "1700000000" }),
    });
    expect(rebuilt.check.cache).toEqual({ result: "computed", wheelsReused: 2, wheelsRead: 1 });
    expect(codes(rebuilt.check)).toContain("glibc-too-new");
    expect(
      rebuilt.events.filter((event) => event.type === "warning").map((event) => event.message),
    ).toEqual([
      expect.stringMatching(/cached check result .*\.json was corrupt \(it is not valid JSON\)/),
    ]);
  });

  it("pylayer check reuses the result of the same bytes, and not with --no-cache", async () => {
    const home = await temporaryFolder();
    const { result } = await build(home, { check: false });
    const zip = result.zips[0]!.path;
    const env = isolatedEnv(home);
    const run = async (...extra: string[]) => {
      const output = await runCli(["check", zip, "--no-import-test", "--json", ...extra], { env });
      const result = JSON.parse(output.stdout) as CheckResult;
      expect(output.code).toBe(result.ok ? 0 : 1);
      return result;
    };
    expect((await run()).cache?.result).toBe("computed");
    const reused = await run();
    expect(reused.cache?.result).toBe("reused");
    expect(codes(reused)).toContain("glibc-too-new");
    expect((await run("--no-cache")).cache).toBeUndefined();
    // Another target is another result (glibc 2.34 has what the extension needs).
    const other = await run("--runtime", "python3.12");
    expect(other.cache?.result).toBe("computed");
    expect(other.ok).toBe(true);
  });

  // Wheels up to WHOLE_WHEEL_LIMIT are read whole into a reused buffer, larger ones through
  // the reader's read-ahead blocks: the facts are the same either way.
  it.each([
    ["read whole", 0],
    ["larger than the whole-read limit", WHOLE_WHEEL_LIMIT + 1],
  ])(
    "names the one damaged entry of a wheel among entries verified together, and caches that (%s)",
    async (_label, padding) => {
      // 40 small modules (read in one batch) whose 23rd has a damaged byte in its deflated
      // data: the wheel's sha256 is the index's, its entry does not inflate to its CRC-32.
      const files: Record<string, string | Uint8Array> = {};
      for (let index = 0; index < 40; index++) {
        files[`damaged/m${String(index).padStart(2, "0")}.py`] = `VALUE = ${index}\n`.repeat(50);
      }
      // Incompressible data that makes the wheel large.
      if (padding > 0) files["damaged/data.bin"] = randomBytes(padding);
      const wheel = buildWheel({ name: "damaged", version: "1.0", files });
      expect(wheel.bytes.length > WHOLE_WHEEL_LIMIT).toBe(padding > 0);
      const bytes = Buffer.from(wheel.bytes);
      const { ZipReader } = await import("../../src/zip/index.js");
      const entry = ZipReader.fromBuffer(bytes).getEntry("damaged/m22.py")!;
      expect(entry.method).toBe(8);
      const data = entry.localHeaderOffset + 30 + entry.name.length;
      bytes[data + Math.floor(entry.compressedSize / 2)]! ^= 0x55;
      const damagedServer = await startIndexServer([
        { ...wheel, bytes, sha256: createHash("sha256").update(bytes).digest("hex") },
      ]);
      try {
        const home = await temporaryFolder();
        const check = async () => {
          const { result } = await buildCollecting(damagedServer.url, home, {
            requirements: ["damaged"],
            runtimes: ["python3.11"],
            check: true,
          });
          return result.checks?.[0] as CheckResult;
        };
        const first = await check();
        expect(first.cache?.result).toBe("computed");
        expect(first.ok).toBe(false);
        const corrupt = first.findings.filter((finding) => finding.code === "corrupt-entry");
        expect(corrupt.map((finding) => finding.file)).toEqual(["python/damaged/m22.py"]);
        expect(corrupt[0]!.message).toMatch(
          /entry "python\/damaged\/m22\.py" of .*: (its CRC-32 does not match|its deflate stream is invalid)/,
        );
        const second = await check();
        expect(second.cache?.result).toBe("reused");
        expect(second.findings).toEqual(first.findings);
      } finally {
        await damagedServer.close();
      }
    },
  );
  it("reads the facts of a wheel larger than the whole-read limit through read-ahead blocks", async () => {
    const wheel = buildWheel({
      name: "large",
      version: "1.0",
      tag: "py3-none-manylinux_2_17_x86_64",
      files: {
        "large/__init__.py": "",
        "large/_speedups.abi3.so": extension,
        "large/data.bin": randomBytes(WHOLE_WHEEL_LIMIT + 1),
      },
    });
    expect(wheel.bytes.length).toBeGreaterThan(WHOLE_WHEEL_LIMIT);
    const largeServer = await startIndexServer([wheel]);
    try {
      const home = await temporaryFolder();
      const check = async (runtime: string) => {
        const { result } = await buildCollecting(largeServer.url, home, {
          requirements: ["large"],
          runtimes: [runtime],
          check: true,
        });
        return result.checks?.[0] as CheckResult;
      };
      const old = await check("python3.11");
      expect(old.cache).toMatchObject({ result: "computed", wheelsRead: 1 });
      const glibc = old.findings.filter((finding) => finding.code === "glibc-too-new");
      expect(glibc.map((finding) => finding.file)).toEqual(["python/large/_speedups.abi3.so"]);
      const recent = await check("python3.12");
      expect(recent.cache).toMatchObject({ result: "computed", wheelsRead: 0, wheelsReused: 1 });
      expect(codes(recent)).not.toContain("glibc-too-new");
    } finally {
      await largeServer.close();
    }
  });
});
