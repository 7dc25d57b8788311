/**
 * Issue 19, points 1, 2 and 5: what is read from the cache is verified against the hash
 * it is stored under; a damaged entry is evicted, said, and fetched or built again; the
 * reported sha256 is the one of the bytes written; temporary files of dead processes go.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BuildOptions } from "../../src/pipeline/index.js";
import { ZipReader } from "../../src/zip/index.js";
import { buildCollecting } from "../helpers/build.js";
import { indexForFile } from "../helpers/index-server.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const server = await indexForFile([
  buildWheel({ name: "app", version: "1.0", requires: ["helper"] }),
  buildWheel({
    name: "helper",
    version: "2.0",
    files: { "helper/__init__.py": `VALUE = ${JSON.stringify("x".repeat(5000))}\n` },
  }),
  buildWheel({ name: "extra", version: "1.0" }),
]);

async function build(home: string, options: Partial<BuildOptions> = {}) {
  const { result, events } = await buildCollecting(server.url, home, {
    requirements: ["app"],
    ...options,
  });
  const zip = result.zips[0]!;
  const bytes = await readFile(zip.path);
  return { result, zip, events, bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Reads every entry of the zip (inflated and CRC-checked by ZipReader). */
async function readsCleanly(path: string): Promise<void> {
  const reader = await ZipReader.open(path);
  try {
    for (const entry of reader.entries) if (!entry.isDirectory) await reader.read(entry);
  } finally {
    await reader.close();
  }
}

const cachedLayerZip = async (home: string) => {
  const folder = join(home, "cache", "layers-v1");
  const name = (await readdir(folder)).find((entry) => /^[0-9a-f]{64}\.zip$/.test(entry))!;
  return join(folder, name);
};

async function findWheel(home: string, filename: string): Promise<string> {
  const root = join(home, "cache", "wheels-v1", "sha256");
  for (const prefix of await readdir(root)) {
    for (const digest of await readdir(join(root, prefix))) {
      const path = join(root, prefix, digest, filename);
      if (existsSync(path)) return path;
    }
  }
  throw new Error(`${filename} is not cached`);
}

async function flipByte(path: string, at: (size: number) => number): Promise<void> {
  const bytes = await readFile(path);
  const offset = at(bytes.length);
  bytes[offset] = bytes[offset]! ^ 0x01;
  await writeFile(path, bytes);
}

const wheelDownloads = (filename: string) =>
  server.requests.filter((request) => request.path.endsWith(filename)).length;

describe("cache integrity", () => {
  it("evicts a cached layer whose bytes changed, says so, and builds it again (point 1)", async () => {
    const home = await temporaryFolder();
    const first = await build(home);
    await flipByte(await cachedLayerZip(home), (size) => Math.floor(size / 3));

    const second = await build(home);
    expect(second.result.warnings.join("\n")).toMatch(
      /cached layer .*layers-v1.* was corrupt .*sha256.*building the layer again/,
    );
    // Rebuilt, not copied: the same bytes as the clean build, and the report tells their hash.
    expect(second.sha256).toBe(first.zip.sha256);
    expect(second.zip.sha256).toBe(second.sha256);
    await readsCleanly(second.zip.path);
    // The rebuilt layer went back into the cache, and the next build copies it cleanly.
    const third = await build(home);
    expect(third.result.warnings).toEqual([]);
    expect(third.sha256).toBe(first.zip.sha256);
  });

  it("evicts a cached layer of the wrong size (truncated)", async () => {
    const home = await temporaryFolder();
    const first = await build(home);
    const cached = await cachedLayerZip(home);
    await truncate(cached, 100);
    const second = await build(home);
    expect(second.result.warnings.join("\n")).toMatch(/was corrupt \(100 bytes, not the/);
    expect(second.sha256).toBe(first.zip.sha256);
  });

  it("reports the sha256 of the bytes written on a cache hit", async () => {
    const home = await temporaryFolder();
    await build(home);
    const hit = await build(home);
    expect(
      hit.events.some((event) =>
        /same inputs as cached layer [0-9a-f]{16}, linked$/.test(event.message),
      ),
    ).toBe(true);
    expect(hit.zip.sha256).toBe(hit.sha256);
    expect(hit.zip.size).toBe(hit.bytes.length);
    expect(hit.zip.sha256Base64).toBe(Buffer.from(hit.sha256, "hex").toString("base64"));
    // The output is a link to the cached layer (one file system): its bytes are not written
    // again, only hashed.
    const [output, cached] = await Promise.all([
      stat(hit.zip.path),
      stat(await cachedLayerZip(home)),
    ]);
    expect(output.ino).toBe(cached.ino);
  });

  for (const [damage, change] of [
    ["a flipped bit", (path: string) => flipByte(path, (size) => Math.floor(size / 2))],
    ["truncation (point 2)", (path: string) => truncate(path, 200)],
  ] as const) {
    it(`evicts a cached wheel damaged by ${damage} and downloads it again`, async () => {
      const home = await temporaryFolder();
      const first = await build(home);
      const filename = first.zip.packages.find((item) => item.name === "helper")!.wheel;
      await change(await findWheel(home, filename));
      // No built layer to copy: the wheels are read again.
      await rm(join(home, "cache", "layers-v1"), { recursive: true });
      const downloadsBefore = wheelDownloads(filename);

      const second = await build(home);
      expect(second.events.map((event) => event.message).join("\n")).toMatch(
        new RegExp(`cached wheel .*${filename} does not match its sha256.*downloading .* again`),
      );
      expect(wheelDownloads(filename)).toBe(downloadsBefore + 1);
      expect(second.sha256).toBe(first.zip.sha256);
      await readsCleanly(second.zip.path);
      // The download replaced the damaged file: the next build uses it without a word.
      await rm(join(home, "cache", "layers-v1"), { recursive: true });
      const third = await build(home);
      expect(third.events.some((event) => /does not match its sha256/.test(event.message))).toBe(
        false,
      );
      expect(wheelDownloads(filename)).toBe(downloadsBefore + 1);
    });
  }
});

describe("a cached wheel is verified when its bytes are read, and only then", () => {
  const flipHelper = async (home: string, zip: { packages: { name: string; wheel: string }[] }) => {
    const filename = zip.packages.find((item) => item.name === "helper")!.wheel;
    await flipByte(await findWheel(home, filename), (size) => Math.floor(size / 2));
    return filename;
  };
  const damaged = (events: { message?: string }[], filename: string) =>
    events.some((event) =>
      new RegExp(`cached wheel .*${filename} does not match its sha256`).test(event.message ?? ""),
    );

  it("a changed set copies an unchanged wheel's entries from its previous zip without reading the wheel", async () => {
    const home = await temporaryFolder();
    const first = await build(home, { check: true });
    const filename = await flipHelper(home, first.zip);
    const downloadsBefore = wheelDownloads(filename);

    const changed = await build(home, { requirements: ["app", "extra"], check: true });
    expect(changed.result.cache?.layers.fromPrevious).toBe(1);
    expect(damaged(changed.events, filename)).toBe(false);
    expect(wheelDownloads(filename)).toBe(downloadsBefore);
    expect(changed.result.checks?.[0]?.ok).toBe(true);
    await readsCleanly(changed.zip.path);
    const fresh = await build(await temporaryFolder(), { requirements: ["app", "extra"] });
    expect(changed.sha256).toBe(fresh.sha256);

    // A build that reads the wheel (no layer to copy from) finds the damage.
    await rm(join(home, "cache", "layers-v1"), { recursive: true });
    const downloadsBeforeRebuild = wheelDownloads(filename);
    const rebuilt = await build(home, { requirements: ["app", "extra"] });
    expect(damaged(rebuilt.events, filename)).toBe(true);
    expect(wheelDownloads(filename)).toBe(downloadsBeforeRebuild + 1);
    expect(rebuilt.sha256).toBe(fresh.sha256);
  });

  for (const [reader, cleared, requirements] of [
    ["the zip writer", ["layers-v1"], ["app"]],
    ["install planning", ["layers-v1", "installs-v1"], ["app"]],
    ["the check, reading its facts", ["checks-v1"], ["app", "extra"]],
  ] as const) {
    it(`${reader} verifies a damaged cached wheel before reading it`, async () => {
      const home = await temporaryFolder();
      const first = await build(home, { check: true });
      const filename = await flipHelper(home, first.zip);
      for (const folder of cleared) await rm(join(home, "cache", folder), { recursive: true });
      const downloadsBefore = wheelDownloads(filename);

      const second = await build(home, { requirements: [...requirements], check: true });
      expect(damaged(second.events, filename)).toBe(true);
      expect(wheelDownloads(filename)).toBe(downloadsBefore + 1);
      expect(second.result.checks?.[0]?.ok).toBe(true);
      await readsCleanly(second.zip.path);
      const fresh = await build(await temporaryFolder(), { requirements: [...requirements] });
      expect(second.sha256).toBe(fresh.sha256);
    });
  }
});

describe("temporary files of killed processes (point 5)", () => {
  /** A process id that is not running: a child that has exited. */
  const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

  it("removes the temporaries of dead processes beside the output and in the cache", async () => {
    const home = await temporaryFolder();
    const cwd = await temporaryFolder();
    const dead = deadPid();
    const alive = process.ppid;
    const outputLeftover = join(cwd, `.layer.zip.${dead}.0123456789ab.tmp`);
    const liveOutput = join(cwd, `.layer.zip.${alive}.0123456789ab.tmp`);
    const wheelsTemporary = join(home, "cache", "wheels-v1", ".tmp");
    const downloadLeftover = join(
      wheelsTemporary,
      `helper-2.0-py3-none-any.whl.${dead}-0123456789ab`,
    );
    const liveDownload = join(wheelsTemporary, `helper-2.0-py3-none-any.whl.${alive}-0123456789ab`);
    const unrelated = join(cwd, ".layer.zip.notes.tmp");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(wheelsTemporary, { recursive: true });
    for (const path of [outputLeftover, liveOutput, downloadLeftover, liveDownload, unrelated]) {
      await writeFile(path, "partial");
    }
    await build(home, { cwd });
    expect(existsSync(outputLeftover)).toBe(false);
    expect(existsSync(downloadLeftover)).toBe(false);
    // Files of running processes, and files not named like pylayer's temporaries, stay.
    expect(existsSync(liveOutput)).toBe(true);
    expect(existsSync(liveDownload)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
  });
});
