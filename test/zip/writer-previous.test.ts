/**
 * Writing with a previous zip: records whose name and source key are unchanged are copied
 * from the zip written before instead of from their wheels, and the bytes are exactly the
 * bytes of a write without it. The previous zip is hashed as it is read; changed bytes,
 * a missing file or another timestamp leave it unused, never shipped.
 */
import { createHash } from "node:crypto";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DOS_EPOCH,
  type PlannedEntry,
  type PreviousZip,
  writeDeterministicZip,
  ZipReader,
  type ZipResult,
} from "../../src/zip/index.js";
import { buildWheel } from "../helpers/wheels.js";
import { noise, useTemporaryFolders } from "./helpers.js";

const temporaryFolder = useTemporaryFolders();
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

interface Wheel {
  path: string;
  sha256: string;
  entries: PlannedEntry[];
}

async function wheel(
  folder: string,
  name: string,
  version: string,
  files: Record<string, string | Uint8Array>,
): Promise<Wheel> {
  const built = buildWheel({ name, version, files });
  const path = join(folder, built.filename);
  await writeFile(path, built.bytes);
  const reader = await ZipReader.open(path);
  await reader.close();
  return {
    path,
    sha256: sha256(built.bytes),
    entries: reader.entries
      .filter((entry) => !entry.isDirectory)
      .map((entry) => ({
        name: `python/${entry.name}`,
        mode: 0o644,
        source: { kind: "zip" as const, archivePath: path, entry },
      })),
  };
}

/** Keys sources as the build does: the wheel's sha256 and the entry's name. */
function keyer(wheels: readonly Wheel[]) {
  const byPath = new Map(wheels.map((item) => [item.path, item.sha256]));
  return (source: { archivePath: string; entry: { name: string } }) => {
    const digest = byPath.get(source.archivePath);
    return digest === undefined ? undefined : `${digest}:${source.entry.name}`;
  };
}

function previousOf(result: ZipResult, mtime = DOS_EPOCH): PreviousZip {
  return {
    path: result.path,
    size: result.size,
    sha256: result.sha256,
    mtime: mtime.getTime(),
    entryCount: result.records.length,
    sourceOf: (index, name) =>
      result.records[index]?.name === name ? result.records[index]?.source : undefined,
  };
}

async function setOfWheels(folder: string) {
  const big = await wheel(folder, "big", "1.0", {
    // Larger than the 2 MiB blocks through which both zips are read and written.
    "big/blob.bin": noise(5 * 1024 * 1024 + 17, 3),
    "big/__init__.py": "from .core import run\n",
    "big/core.py": "def run():\n    return 42\n".repeat(50),
  });
  const small = await wheel(folder, "small", "1.0", {
    "small/__init__.py": "VALUE = 1\n",
  });
  // Names that sort between the other wheels' entries.
  const middle = await wheel(folder, "middle", "2.0", {
    "middle/__init__.py": "VALUE = 'middle'\n".repeat(20),
    "middle/data.bin": noise(300_000, 9),
  });
  const smallNext = await wheel(folder, "small", "1.1", {
    "small/__init__.py": "VALUE = 2\n",
  });
  return { big, small, middle, smallNext };
}

const comment = "manifest";

describe("writing with a previous zip", () => {
  it("copies unchanged records from it and writes the bytes of a write without it", async () => {
    const folder = await temporaryFolder();
    const { big, small, middle } = await setOfWheels(folder);
    const first = await writeDeterministicZip(
      join(folder, "first.zip"),
      [...big.entries, ...small.entries],
      { comment, sourceKey: keyer([big, small]) },
    );
    expect(first.records.map((record) => record.name)).toEqual(
      first.records.map((record) => record.name).sort(),
    );
    expect(first.records).toHaveLength(first.entryCount);

    // One distribution added, its entries among the others'.
    const entries = [...big.entries, ...small.entries, ...middle.entries];
    const sourceKey = keyer([big, small, middle]);
    const changed = await writeDeterministicZip(join(folder, "changed.zip"), entries, {
      comment,
      sourceKey,
      previous: previousOf(first),
    });
    const clean = await writeDeterministicZip(join(folder, "clean.zip"), entries, {
      comment,
      sourceKey,
    });
    expect(changed.sha256).toBe(clean.sha256);
    expect(sha256(await readFile(changed.path))).toBe(clean.sha256);
    expect(changed.records).toEqual(clean.records);
    // Every record of the first zip is copied: its files and its directories.
    expect(changed.copiedFromPrevious).toBe(first.records.length);
    expect(changed.previousRejected).toBeUndefined();
    expect(clean.copiedFromPrevious).toBeUndefined();
  });

  it("reads a replaced distribution from its new wheel", async () => {
    const folder = await temporaryFolder();
    const { big, small, smallNext } = await setOfWheels(folder);
    const first = await writeDeterministicZip(
      join(folder, "first.zip"),
      [...big.entries, ...small.entries],
      { sourceKey: keyer([big, small]) },
    );
    // small 1.0 → 1.1: the same name with another source is not copied.
    const entries = [...big.entries, ...smallNext.entries];
    const sourceKey = keyer([big, smallNext]);
    const changed = await writeDeterministicZip(join(folder, "changed.zip"), entries, {
      sourceKey,
      previous: previousOf(first),
    });
    const clean = await writeDeterministicZip(join(folder, "clean.zip"), entries, { sourceKey });
    expect(changed.sha256).toBe(clean.sha256);
    const reader = await ZipReader.open(changed.path);
    const init = reader.getEntry("python/small/__init__.py")!;
    expect((await reader.read(init)).toString()).toBe("VALUE = 2\n");
    await reader.close();
    const smallRecords = first.records.filter((record) => record.name.includes("small"));
    expect(smallRecords.length).toBeGreaterThan(2);
    // small's package folder is the same record; its files and its dist-info are not.
    const replaced = smallRecords.filter(
      (record) => !record.name.endsWith("/") || record.name.includes("small-1.0.dist-info"),
    );
    expect(replaced.some((record) => record.name === "python/small/")).toBe(false);
    expect(changed.copiedFromPrevious).toBe(first.records.length - replaced.length);
  });

  it("is not used when its bytes changed, and the zip is written from the wheels", async () => {
    const folder = await temporaryFolder();
    const { big, small, middle } = await setOfWheels(folder);
    const first = await writeDeterministicZip(
      join(folder, "first.zip"),
      [...big.entries, ...small.entries],
      { sourceKey: keyer([big, small]) },
    );
    // One byte of the blob changed in place: same size, same records.
    const bytes = await readFile(first.path);
    const blobAt = bytes.indexOf(Buffer.from(noise(64, 3)));
    expect(blobAt).toBeGreaterThan(0);
    bytes[blobAt + 1_000_000] = (bytes[blobAt + 1_000_000]! + 1) & 0xff;
    await writeFile(first.path, bytes);

    const entries = [...big.entries, ...small.entries, ...middle.entries];
    const sourceKey = keyer([big, small, middle]);
    const changed = await writeDeterministicZip(join(folder, "changed.zip"), entries, {
      sourceKey,
      previous: previousOf(first),
    });
    const clean = await writeDeterministicZip(join(folder, "clean.zip"), entries, { sourceKey });
    expect(changed.previousRejected).toMatch(/does not hash to the sha256 recorded/);
    expect(changed.copiedFromPrevious).toBe(0);
    expect(sha256(await readFile(changed.path))).toBe(clean.sha256);
  });

  it("is not used when it is gone or cut short", async () => {
    const folder = await temporaryFolder();
    const { big, small } = await setOfWheels(folder);
    const entries = [...big.entries, ...small.entries];
    const sourceKey = keyer([big, small]);
    const first = await writeDeterministicZip(join(folder, "first.zip"), entries, { sourceKey });
    const clean = await writeDeterministicZip(join(folder, "clean.zip"), entries, { sourceKey });

    const bytes = await readFile(first.path);
    await writeFile(first.path, bytes.subarray(0, bytes.length - 100));
    const shortened = await writeDeterministicZip(join(folder, "a.zip"), entries, {
      sourceKey,
      previous: previousOf(first),
    });
    expect(shortened.previousRejected).toMatch(/bytes, not the .* recorded/);
    expect(shortened.sha256).toBe(clean.sha256);

    await writeFile(first.path, bytes);
    const miscounted = await writeDeterministicZip(join(folder, "c.zip"), entries, {
      sourceKey,
      previous: { ...previousOf(first), entryCount: first.records.length + 1 },
    });
    expect(miscounted.previousRejected).toMatch(/lists \d+ entries, not the \d+ recorded/);
    expect(miscounted.sha256).toBe(clean.sha256);

    await rm(first.path);
    const gone = await writeDeterministicZip(join(folder, "b.zip"), entries, {
      sourceKey,
      previous: previousOf(first),
    });
    expect(gone.previousRejected).toMatch(/cannot be opened/);
    expect(gone.sha256).toBe(clean.sha256);
    expect((await stat(join(folder, "b.zip"))).size).toBe(clean.size);
  });

  it("is not used for another timestamp, or when it would supply less than half its bytes", async () => {
    const folder = await temporaryFolder();
    const { big, small, middle } = await setOfWheels(folder);
    const sourceKey = keyer([big, small, middle]);
    const first = await writeDeterministicZip(
      join(folder, "first.zip"),
      [...big.entries, ...small.entries],
      { sourceKey },
    );
    const later = new Date(Date.UTC(2024, 0, 1));
    const retimed = await writeDeterministicZip(
      join(folder, "retimed.zip"),
      [...big.entries, ...small.entries],
      { sourceKey, mtime: later, previous: previousOf(first) },
    );
    expect(retimed.copiedFromPrevious).toBeUndefined();
    const retimedClean = await writeDeterministicZip(
      join(folder, "retimed-clean.zip"),
      [...big.entries, ...small.entries],
      { sourceKey, mtime: later },
    );
    expect(retimed.sha256).toBe(retimedClean.sha256);

    // Without big, the previous zip would supply a few small records of many megabytes.
    const fewer = await writeDeterministicZip(
      join(folder, "fewer.zip"),
      [...small.entries, ...middle.entries],
      { sourceKey, previous: previousOf(first) },
    );
    expect(fewer.copiedFromPrevious).toBeUndefined();
    expect(fewer.previousRejected).toBeUndefined();
  });
});
