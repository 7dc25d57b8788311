import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import {
  openFileRangeReader,
  type RangeReader,
  readWheelMetadata,
} from "../../src/index/wheel-metadata.js";
import { buildWheel } from "../helpers/wheels.js";

function memoryReader(bytes: Uint8Array, reads: [number, number][] = []): RangeReader {
  return {
    size: bytes.length,
    async read(offset, length) {
      reads.push([offset, length]);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** Sets an archive comment (EOCD comment) of `length` bytes, like some zip tools write. */
function withArchiveComment(zip: Uint8Array, length: number): Uint8Array {
  const result = new Uint8Array(zip.length + length);
  result.set(zip);
  result.fill(0x41, zip.length);
  new DataView(result.buffer).setUint16(zip.length - 2, length, true);
  return result;
}

describe("readWheelMetadata", () => {
  it("reads a deflated METADATA with two small reads for a large wheel", async () => {
    const wheel = buildWheel({
      name: "Big.Pkg",
      version: "2.0",
      requires: ["six>=1"],
      files: { "big_pkg/blob.bin": randomBytes(2_000_000), "big_pkg/__init__.py": "" },
    });
    const reads: [number, number][] = [];
    const text = await readWheelMetadata(memoryReader(wheel.bytes, reads), wheel.filename);
    expect(text).toBe(wheel.metadata);
    const bytesRead = reads.reduce((sum, [, length]) => sum + length, 0);
    expect(bytesRead).toBeLessThan(100_000);
  });

  it("reads a stored (uncompressed) METADATA", async () => {
    const metadata = "Metadata-Version: 2.1\nName: stored\nVersion: 1.0\n\n";
    const zip = zipSync({
      "stored-1.0.dist-info/METADATA": [new TextEncoder().encode(metadata), { level: 0 }],
      "stored/__init__.py": new Uint8Array(0),
    });
    expect(await readWheelMetadata(memoryReader(zip), "stored-1.0-py3-none-any.whl")).toBe(
      metadata,
    );
  });

  it("finds the end record behind an archive comment", async () => {
    const wheel = buildWheel({ name: "commented", version: "1.0" });
    const zip = withArchiveComment(wheel.bytes, 300);
    expect(await readWheelMetadata(memoryReader(zip), wheel.filename)).toBe(wheel.metadata);
  });

  // Binary distribution format: a wheel holds exactly one .dist-info folder.
  it("rejects a wheel with several .dist-info folders", async () => {
    const wheel = buildWheel({
      name: "Real_Name",
      version: "1.0",
      rawEntries: { "vendored-9.9.dist-info/METADATA": "Name: vendored\n" },
    });
    await expect(
      readWheelMetadata(memoryReader(wheel.bytes), wheel.filename),
    ).rejects.toMatchObject({ code: "invalid-wheel" });
  });

  it("reads from a local file", async () => {
    const directory = await mkdtemp(join(tmpdir(), "pylayer-wheel-metadata-"));
    try {
      const wheel = buildWheel({ name: "local", version: "1.0" });
      const path = join(directory, wheel.filename);
      await writeFile(path, wheel.bytes);
      const reader = await openFileRangeReader(path);
      try {
        expect(await readWheelMetadata(reader, wheel.filename)).toBe(wheel.metadata);
      } finally {
        await reader.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  const broken: [string, () => Uint8Array, string][] = [
    [
      "not a zip",
      () => new TextEncoder().encode("hello, this is not a zip file at all"),
      "invalid-zip",
    ],
    [
      "truncated",
      () => buildWheel({ name: "t", version: "1.0" }).bytes.subarray(0, 200),
      "invalid-zip",
    ],
    [
      "no METADATA",
      () => zipSync({ "x-1.0.dist-info/WHEEL": new TextEncoder().encode("Wheel-Version: 1.0\n") }),
      "invalid-wheel",
    ],
    [
      "METADATA with a bad CRC",
      () => {
        const bytes = new Uint8Array(buildWheel({ name: "x", version: "1.0" }).bytes);
        // Damage the CRC stored in every central directory entry.
        const view = new DataView(bytes.buffer);
        for (let position = 0; position + 4 <= bytes.length; position++) {
          if (view.getUint32(position, true) === 0x02014b50) {
            view.setUint32(position + 16, view.getUint32(position + 16, true) ^ 0xffff, true);
          }
        }
        return bytes;
      },
      "corrupt-zip",
    ],
  ];
  it.each(broken)("rejects %s", async (_name, make, code) => {
    await expect(
      readWheelMetadata(memoryReader(make()), "x-1.0-py3-none-any.whl"),
    ).rejects.toMatchObject({ code });
  });
});
