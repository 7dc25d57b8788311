import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCentralHeader, encodeEndRecords, encodeLocalHeader } from "../../src/zip/format.js";
import { useFreshMemoryForGunzip } from "../../src/zip/gunzip-members.js";
import {
  bufferSource,
  entryDataFromRecord,
  entryRecordRange,
  INITIAL_TAIL_LENGTH,
  localDataOffset,
  parseCentralDirectoryFromTail,
  type RandomAccessSource,
  readZipComment,
  writeDeterministicZip,
  type ZipEntry,
  ZipReader,
} from "../../src/zip/index.js";
import { useTemporaryFolders } from "./helpers.js";

const temporaryFolder = useTemporaryFolders();

/**
 * `zip -X -fz` (Info-ZIP 3.0) output for a.txt, d/ and d/b.txt: Zip64 extra fields in every
 * local and central header (central ones hold only the overflowed uncompressed size), a
 * Zip64 end record and locator, and 0xffffffff as the classic central directory offset.
 */
const INFO_ZIP_ZIP64 =
  "UEsDBC0AAAAAAAAAIVBOgYhH//////////8FABQAYS50eHQBABAABAAAAAAAAAAEAAAAAAAAAGFiYwpQSwMELQAAAAAAAAAhUAAAAAD//////////wIAFABkLwEAEAAAAAAAAAAAAAAAAAAAAAAAUEsDBC0AAAAAAAAAIVAgMDo2//////////8HABQAZC9iLnR4dAEAEAAGAAAAAAAAAAYAAAAAAAAAaGVsbG8KUEsBAh4DLQAAAAAAAAAhUE6BiEcEAAAA/////wUADAAAAAAAAQAAAKSBAAAAAGEudHh0AQAIAAQAAAAAAAAAUEsBAh4DCgAAAAAAAAAhUAAAAAAAAAAA/////wIADAAAAAAAAAAQAO1BOwAAAGQvAQAIAAAAAAAAAAAAUEsBAh4DLQAAAAAAAAAhUCAwOjYGAAAA/////wcADAAAAAAAAQAAAKSBbwAAAGQvYi50eHQBAAgABgAAAAAAAABQSwYGLAAAAAAAAAAeAy0AAAAAAAAAAAADAAAAAAAAAAMAAAAAAAAAvAAAAAAAAACuAAAAAAAAAFBLBgcAAAAAagEAAAAAAAABAAAAUEsFBgAAAAADAAMAvAAAAP////8AAA==";

/**
 * Python 3.11 `zipfile` with `force_zip64=True`: deflated entries whose local headers carry
 * Zip64 sizes (0xffffffff in the 32-bit fields) while the central directory does not.
 */
const PYTHON_ZIP64 =
  "UEsDBC0AAAAIAAAAIVDq40/t//////////8JABQAaGVsbG8udHh0AQAQAAwAAAAAAAAADgAAAAAAAADLSM3JyVeoyiwwM+ECAFBLAwQtAAAACAAAACFQJkwLt///////////DAAUAGRpci9kYXRhLmJpbgEAEAAABAAAAAAAABgBAAAAAAAAY2BkYmZhZWPn4OTi5uHl4xcQFBIWERUTl5CUkpaRlZNXUFRSVlFVU9fQ1NLW0dXTNzA0MjYxNTO3sLSytrG1s3dwdHJ2cXVz9/D08vbx9fMPCAwKDgkNC4+IjIqOiY2LT0hMSk5JTUvPyMzKzsnNyy8oLCouKS0rr6isqq6pratvaGxqbmlta+/o7Oru6e3rnzBx0uQpU6dNnzFz1uw5c+fNX7Bw0eIlS5ctX7Fy1eo1a9et37Bx0+YtW7dt37Fz1+49e/ftP3Dw0OEjR48dP3Hy1OkzZ8+dv3Dx0uUrV69dv3Hz1u07d+/df/Dw0eMnT589f/Hy1es3b9+9//Dx0+cvX799//Hz1+8/f//9Zxj1/6j/R7D/AVBLAQItAy0AAAAIAAAAIVDq40/tDgAAAAwAAAAJAAAAAAAAAAAAAACkgQAAAABoZWxsby50eHRQSwECLQMtAAAACAAAACFQJkwLtxgBAAAABAAADAAAAAAAAAAAAAAApIFJAAAAZGlyL2RhdGEuYmluUEsFBgAAAAACAAIAcQAAAJ8BAAAAAA==";

describe("ZipReader on Zip64 archives from other writers", () => {
  it("reads Info-ZIP's Zip64 end records and central extra fields", async () => {
    const reader = ZipReader.fromBuffer(Buffer.from(INFO_ZIP_ZIP64, "base64"), "infozip.zip");
    expect(
      reader.entries.map(({ name, uncompressedSize, isDirectory, unixMode }) => ({
        name,
        uncompressedSize,
        isDirectory,
        unixMode,
      })),
    ).toEqual([
      { name: "a.txt", uncompressedSize: 4, isDirectory: false, unixMode: 0o100644 },
      { name: "d/", uncompressedSize: 0, isDirectory: true, unixMode: 0o040755 },
      { name: "d/b.txt", uncompressedSize: 6, isDirectory: false, unixMode: 0o100644 },
    ]);
    expect((await reader.read(reader.getEntry("a.txt")!)).toString()).toBe("abc\n");
    expect((await reader.read(reader.getEntry("d/b.txt")!)).toString()).toBe("hello\n");
  });

  it("reads Python's Zip64 local headers", async () => {
    const reader = ZipReader.fromBuffer(Buffer.from(PYTHON_ZIP64, "base64"), "python.zip");
    expect((await reader.read(reader.getEntry("hello.txt")!)).toString()).toBe("hello zip64\n");
    const data = await reader.read(reader.getEntry("dir/data.bin")!);
    expect(data.length).toBe(1024);
    expect(data[255]).toBe(255);
    expect(data[256]).toBe(0);
  });
});

describe("Zip64 record encoding (APPNOTE 4.3.14–4.3.16, 4.5.3)", () => {
  const GiB = 1024 ** 3;
  const dosDateTime = { date: 0x21, time: 0 };
  const bigEntries = [
    { name: "small", compressedSize: 10, uncompressedSize: 20, localHeaderOffset: 5 * GiB },
    { name: "huge", compressedSize: 4.5 * GiB, uncompressedSize: 6 * GiB, localHeaderOffset: 0 },
    {
      name: "edge",
      compressedSize: 0xffffffff,
      uncompressedSize: 0xfffffffe,
      localHeaderOffset: 7,
    },
  ];

  it("round-trips sizes and offsets past 4 GiB through the central directory parser", () => {
    const headers = bigEntries.map((entry) =>
      encodeCentralHeader({
        nameBytes: Buffer.from(entry.name),
        flags: 0,
        method: 8,
        dosDateTime,
        crc32: 0x12345678,
        compressedSize: entry.compressedSize,
        uncompressedSize: entry.uncompressedSize,
        versionMadeBy: 0x032d,
        externalAttributes: (0o100644 << 16) >>> 0,
        localHeaderOffset: entry.localHeaderOffset,
      }),
    );
    const directory = Buffer.concat(headers);
    const centralDirectoryOffset = 12 * GiB;
    const end = encodeEndRecords({
      entryCount: bigEntries.length,
      centralDirectorySize: directory.length,
      centralDirectoryOffset,
      versionMadeBy: 0x032d,
    });
    // Zip64 record (56) + locator (20) + classic end record (22).
    expect(end.length).toBe(98);
    expect(end.readUInt32LE(end.length - 22 + 16)).toBe(0xffffffff);
    expect(end.readUInt16LE(end.length - 22 + 10)).toBe(bigEntries.length);
    const tail = Buffer.concat([directory, end]);
    const fileSize = centralDirectoryOffset + tail.length;
    const parsed = parseCentralDirectoryFromTail(tail, fileSize, "big.zip");
    expect(parsed.kind).toBe("complete");
    if (parsed.kind !== "complete") return;
    expect(parsed.directory.centralDirectoryOffset).toBe(centralDirectoryOffset);
    expect(
      parsed.directory.entries.map(
        ({ name, compressedSize, uncompressedSize, localHeaderOffset }) => ({
          name,
          compressedSize,
          uncompressedSize,
          localHeaderOffset,
        }),
      ),
    ).toEqual(bigEntries);
    // Only the overflowing fields are in the extra field: "small" has just the offset.
    expect(headers[0]!.readUInt16LE(30)).toBe(4 + 8);
    expect(headers[1]!.readUInt16LE(30)).toBe(4 + 16);
    expect(headers[2]!.readUInt16LE(30)).toBe(4 + 8);
    expect(headers[2]!.readUInt32LE(24)).toBe(0xfffffffe);
  });

  it("puts both sizes in a local header's Zip64 field", () => {
    const header = encodeLocalHeader({
      nameBytes: Buffer.from("huge"),
      flags: 0,
      method: 8,
      dosDateTime,
      crc32: 1,
      compressedSize: 100,
      uncompressedSize: 5 * GiB,
    });
    expect(header.readUInt32LE(18)).toBe(0xffffffff);
    expect(header.readUInt32LE(22)).toBe(0xffffffff);
    expect(header.readUInt16LE(28)).toBe(20);
    expect(Number(header.readBigUInt64LE(30 + 4 + 4))).toBe(5 * GiB);
    expect(Number(header.readBigUInt64LE(30 + 4 + 12))).toBe(100);
    const entry = { name: "huge", flags: 0, compressedSize: 100 } as ZipEntry;
    expect(localDataOffset(header, entry)).toBe(header.length);
  });

  it("writes classic records below the limits", () => {
    const end = encodeEndRecords({
      entryCount: 0xfffe,
      centralDirectorySize: 100,
      centralDirectoryOffset: 0xfffffffe,
      versionMadeBy: 0x032d,
    });
    expect(end.length).toBe(22);
  });
});

describe("reading damaged or unsupported archives", () => {
  async function storedZip(): Promise<Buffer> {
    const folder = await temporaryFolder();
    const path = join(folder, "stored.zip");
    await writeDeterministicZip(path, [
      {
        name: "data.txt",
        mode: 0o644,
        source: { kind: "bytes", data: Buffer.from("payload"), compress: false },
      },
      {
        name: "text.txt",
        mode: 0o644,
        source: { kind: "bytes", data: Buffer.from("x".repeat(500)) },
      },
    ]);
    return readFile(path);
  }

  it("detects a CRC mismatch and names archive and entry", async () => {
    const bytes = await storedZip();
    const position = bytes.indexOf("payload");
    bytes[position] = "P".charCodeAt(0);
    const reader = ZipReader.fromBuffer(bytes, "damaged.zip");
    const entry = reader.getEntry("data.txt")!;
    await expect(reader.read(entry)).rejects.toMatchObject({
      code: "corrupt-zip",
      message: expect.stringMatching(/data\.txt.*damaged\.zip.*CRC/),
    });
    // The raw bytes are still returned as stored: raw copies are not verified.
    expect((await reader.readRaw(entry)).toString()).toBe("Payload");
  });

  it("detects an invalid deflate stream", async () => {
    const bytes = await storedZip();
    const reader = ZipReader.fromBuffer(bytes, "damaged.zip");
    const entry = reader.getEntry("text.txt")!;
    expect(entry.method).toBe(8);
    const raw = await reader.readRaw(entry);
    raw.fill(0xff); // raw is a view into `bytes`
    await expect(reader.read(entry)).rejects.toMatchObject({ code: "corrupt-zip" });
  });

  it("detects a local header that does not match the directory", async () => {
    const bytes = await storedZip();
    bytes.write("dbta.txt", 30); // first local header's name
    const reader = ZipReader.fromBuffer(bytes, "damaged.zip");
    await expect(reader.read(reader.getEntry("data.txt")!)).rejects.toMatchObject({
      code: "corrupt-zip",
    });
  });

  it("rejects files that are not zips, naming them", async () => {
    const bytes = await storedZip();
    const cases: { label: string; data: Buffer }[] = [
      { label: "empty", data: Buffer.alloc(0) },
      { label: "text", data: Buffer.from("this is not a zip archive at all, just text\n") },
      { label: "truncated end", data: bytes.subarray(0, bytes.length - 10) },
      { label: "truncated start", data: bytes.subarray(60) },
    ];
    for (const { label, data } of cases) {
      expect(() => ZipReader.fromBuffer(data, `${label}.zip`), label).toThrow(
        expect.objectContaining({
          code: "invalid-zip",
          message: expect.stringContaining(`${label}.zip`),
        }),
      );
    }
  });

  it("reports a missing file as invalid-zip", async () => {
    const folder = await temporaryFolder();
    await expect(ZipReader.open(join(folder, "missing.whl"))).rejects.toMatchObject({
      code: "invalid-zip",
      message: expect.stringContaining("missing.whl"),
    });
  });

  it("refuses encrypted entries and unknown methods", async () => {
    const bytes = await storedZip();
    const centralStart = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const encrypted = Buffer.from(bytes);
    encrypted.writeUInt16LE(0x0001, centralStart + 8);
    const reader = ZipReader.fromBuffer(encrypted, "secret.zip");
    await expect(reader.read(reader.entries[0]!)).rejects.toMatchObject({
      code: "unsupported-zip-feature",
      message: expect.stringMatching(/secret\.zip.*encrypted/),
    });
    const bzip2 = Buffer.from(bytes);
    bzip2.writeUInt16LE(12, centralStart + 10);
    const other = ZipReader.fromBuffer(bzip2, "bzip2.zip");
    await expect(other.readRaw(other.entries[0]!)).rejects.toMatchObject({
      code: "unsupported-zip-feature",
      message: expect.stringContaining("method 12"),
    });
  });

  it("decodes names without the UTF-8 flag as code page 437, like Python's zipfile", () => {
    const bytes = Buffer.from(zipSync({ "caf\u00e9.txt": new Uint8Array([1]) }));
    // fflate sets bit 11 for non-ASCII names; clear it in the local and central headers.
    for (const signature of [0x04034b50, 0x02014b50]) {
      const marker = Buffer.alloc(4);
      marker.writeUInt32LE(signature);
      const position = bytes.indexOf(marker);
      const flagOffset = signature === 0x04034b50 ? 6 : 8;
      bytes.writeUInt16LE(
        bytes.readUInt16LE(position + flagOffset) & ~0x0800,
        position + flagOffset,
      );
    }
    const reader = ZipReader.fromBuffer(bytes, "cp437.zip");
    // UTF-8 bytes C3 A9 read as code page 437: "├" and "⌐".
    expect(reader.entries[0]!.name).toBe("caf\u251c\u2310.txt");
  });
});

describe("reading through ranges (remote wheels)", () => {
  /** A source that counts its reads, as an HTTP client would count range requests. */
  function countingSource(bytes: Buffer): RandomAccessSource & { reads: [number, number][] } {
    const inner = bufferSource(bytes);
    const reads: [number, number][] = [];
    return {
      size: inner.size,
      reads,
      read: (offset, length) => {
        reads.push([offset, length]);
        return inner.read(offset, length);
      },
    };
  }

  it("reads a small archive's directory with one request and an entry with one more", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "small.zip");
    await writeDeterministicZip(path, [
      {
        name: "pkg-1.0.dist-info/METADATA",
        mode: 0o644,
        source: { kind: "bytes", data: Buffer.from("Name: pkg\n") },
      },
      {
        name: "pkg/big.bin",
        mode: 0o644,
        source: { kind: "bytes", data: Buffer.alloc(200_000, 7), compress: false },
      },
    ]);
    const source = countingSource(await readFile(path));
    const reader = await ZipReader.fromSource(source, "https://example.test/pkg.whl");
    expect(source.reads).toEqual([[source.size - INITIAL_TAIL_LENGTH, INITIAL_TAIL_LENGTH]]);
    const metadata = await reader.read(reader.getEntry("pkg-1.0.dist-info/METADATA")!);
    expect(metadata.toString()).toBe("Name: pkg\n");
    expect(source.reads).toHaveLength(2);
    expect(source.reads[1]![1]).toBeLessThan(2000);
  });

  it("asks for more of the tail when the central directory is larger than 64 KiB", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "wide.zip");
    const entries = Array.from({ length: 1500 }, (_, index) => ({
      name: `package/with/a/rather/long/path/module_number_${index}.py`,
      mode: 0o644,
      source: { kind: "bytes" as const, data: Buffer.from(`n = ${index}\n`) },
    }));
    await writeDeterministicZip(path, entries);
    const bytes = await readFile(path);
    const source = countingSource(bytes);
    const reader = await ZipReader.fromSource(source, "wide.zip");
    expect(reader.entries).toHaveLength(1500 + 6);
    expect(source.reads).toHaveLength(2);
    expect(source.reads[1]![0]).toBe(reader.centralDirectoryOffset);

    // The same steps by hand, as an index client would do them.
    let tailLength = INITIAL_TAIL_LENGTH;
    let result = parseCentralDirectoryFromTail(
      bytes.subarray(bytes.length - tailLength),
      bytes.length,
    );
    expect(result.kind).toBe("need-more");
    if (result.kind === "need-more") tailLength = result.tailLength;
    result = parseCentralDirectoryFromTail(bytes.subarray(bytes.length - tailLength), bytes.length);
    expect(result.kind).toBe("complete");
    if (result.kind !== "complete") return;
    const entry = result.directory.entries.find((candidate) =>
      candidate.name.endsWith("module_number_1499.py"),
    )!;
    const range = entryRecordRange(entry, bytes.length);
    const data = entryDataFromRecord(bytes.subarray(range.start, range.end), entry, "wide.zip");
    expect(Buffer.isBuffer(data)).toBe(true);
  });

  it("finds the end record behind a 65,535-byte comment", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "comment.zip");
    await writeDeterministicZip(path, [
      { name: "a.txt", mode: 0o644, source: { kind: "bytes", data: Buffer.from("a") } },
      {
        name: "b.bin",
        mode: 0o644,
        source: { kind: "bytes", data: Buffer.alloc(100_000, 1), compress: false },
      },
    ]);
    const plain = await readFile(path);
    const withComment = Buffer.concat([plain, Buffer.alloc(0xffff, "c".charCodeAt(0))]);
    withComment.writeUInt16LE(0xffff, plain.length - 2);
    const source = countingSource(withComment);
    const reader = await ZipReader.fromSource(source, "comment.zip");
    // The 64 KiB tail holds only comment; then the whole search window; then the directory.
    expect(source.reads).toHaveLength(3);
    expect((await reader.read(reader.getEntry("a.txt")!)).toString()).toBe("a");
    await writeFile(path, withComment);
    const fromFile = await ZipReader.open(path);
    expect(fromFile.entries.map((entry) => entry.name)).toEqual(["a.txt", "b.bin"]);
    await fromFile.close();
  });
});

describe("readZipComment (the end record alone)", () => {
  it("reads the comment of a zip, a 65,535-byte one included, and refuses a file without an end record", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "layer.zip");
    await writeDeterministicZip(
      path,
      [{ name: "a.txt", mode: 0o644, source: { kind: "bytes", data: Buffer.from("a") } }],
      { comment: '{"layout":"python"}' },
    );
    expect(await readZipComment(path)).toBe('{"layout":"python"}');

    const manifest = '{"layout":"python"}';
    const plain = await readFile(path);
    const withoutComment = plain.subarray(0, plain.length - manifest.length);
    const long = Buffer.concat([withoutComment, Buffer.alloc(0xffff, "c".charCodeAt(0))]);
    long.writeUInt16LE(0xffff, withoutComment.length - 2);
    await writeFile(path, long);
    expect(await readZipComment(path)).toBe("c".repeat(0xffff));

    await writeFile(path, Buffer.alloc(4096, 0x20));
    await expect(readZipComment(path)).rejects.toMatchObject({ code: "invalid-zip" });
  });
});

describe("ZipReader.verify (chunked: a large entry is never held whole)", () => {
  /** 3 MiB that deflate (repetitive text) and 3 MiB that do not (stored: random-looking). */
  const text = Buffer.from("import os\nVALUE = 'layer'\n".repeat(121_000));
  const noise = Buffer.alloc(3 * 1024 * 1024);
  for (let index = 0, state = 1; index < noise.length; index++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    noise[index] = state >>> 24;
  }
  const archive = () =>
    Buffer.from(
      zipSync({
        "big.py": [new Uint8Array(text), { level: 6 }],
        "big.bin": [new Uint8Array(noise), { level: 0 }],
      }),
    );

  it("passes intact deflated and stored entries and returns their first bytes", async () => {
    const reader = ZipReader.fromBuffer(archive());
    expect((await reader.verify(reader.getEntry("big.py")!, 9)).toString()).toBe("import os");
    expect(await reader.verify(reader.getEntry("big.bin")!, 4)).toEqual(noise.subarray(0, 4));
  });

  it.each([
    [
      "big.py",
      /entry "big\.py" of .* is corrupt: (its CRC-32 does not match|its deflate stream is invalid|it holds)/,
    ],
    ["big.bin", /entry "big\.bin" of .* is corrupt: its CRC-32 does not match/],
  ])("reports a damaged byte in the middle of %s as corrupt-zip", async (name, message) => {
    const bytes = archive();
    const entry = ZipReader.fromBuffer(bytes).getEntry(name)!;
    // Past the local header, in the middle of the data.
    bytes[entry.localHeaderOffset + 30 + name.length + Math.floor(entry.compressedSize / 2)]! ^=
      0xff;
    const reader = ZipReader.fromBuffer(bytes);
    await expect(reader.verify(reader.getEntry(name)!)).rejects.toMatchObject({
      code: "corrupt-zip",
      message: expect.stringMatching(message),
    });
  });
});

describe("ZipReader.read of a deflated entry over 8 MiB (inflated chunk by chunk into one buffer)", () => {
  /** 9 MiB of text that deflates well, with a varying line so it is not one repeated block. */
  const lines: string[] = [];
  for (let index = 0, length = 0; length < 9 * 1024 * 1024; index++) {
    const line = `VALUE_${String(index).padStart(8, "0")} = ${index % 97}\n`;
    lines.push(line);
    length += line.length;
  }
  const text = Buffer.from(lines.join(""));
  const archive = () => Buffer.from(zipSync({ "lib.so": [new Uint8Array(text), { level: 6 }] }));

  it("returns exactly the contents", async () => {
    const reader = ZipReader.fromBuffer(archive());
    const entry = reader.getEntry("lib.so")!;
    expect(entry.uncompressedSize).toBeGreaterThan(8 * 1024 * 1024);
    expect((await reader.read(entry)).equals(text)).toBe(true);
  });

  it.each([
    ["a damaged byte in the data", "data"],
    ["a recorded size one byte short", "size"],
  ])("reports %s as corrupt-zip", async (_label, damage) => {
    const bytes = archive();
    const entry = ZipReader.fromBuffer(bytes).getEntry("lib.so")!;
    if (damage === "data") {
      bytes[entry.localHeaderOffset + 30 + 6 + Math.floor(entry.compressedSize / 2)]! ^= 0xff;
    } else {
      // The central directory's uncompressed size: 24 bytes into the record.
      const central = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      bytes.writeUInt32LE(entry.uncompressedSize - 1, central + 24);
    }
    const reader = ZipReader.fromBuffer(bytes);
    await expect(reader.read(reader.getEntry("lib.so")!)).rejects.toMatchObject({
      code: "corrupt-zip",
      message: expect.stringMatching(/entry "lib\.so" of .* is corrupt/),
    });
  });
});

describe("ZipReader.open with sequential read-ahead", () => {
  /** Many small entries (several per read-ahead block), then large ones past a block. */
  const files: Record<string, Uint8Array> = {};
  for (let index = 0; index < 400; index++) {
    files[`pkg/module_${String(index).padStart(3, "0")}.py`] = new Uint8Array(
      Buffer.from(`VALUE_${index} = ${index}\n`.repeat(200 + (index % 7) * 50)),
    );
  }
  const large = Buffer.alloc(1536 * 1024);
  for (let index = 0, state = 7; index < large.length; index++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    large[index] = state >>> 24;
  }
  files["pkg/_native.so"] = new Uint8Array(large);
  files["pkg/zz_last.txt"] = new Uint8Array(Buffer.from("the end\n"));

  it.each([
    ["in order", (entries: ZipEntry[]) => entries],
    ["in reverse", (entries: ZipEntry[]) => [...entries].reverse()],
    ["concurrently", (entries: ZipEntry[]) => entries],
  ])("reads every entry as a plain reader does, %s", async (how, order) => {
    const path = join(await temporaryFolder(), "many.zip");
    await writeFile(path, zipSync(files, { level: 6 }));
    const plain = await ZipReader.open(path);
    const sequential = await ZipReader.open(path, { sequential: true });
    try {
      const entries = order(sequential.entries.filter((entry) => !entry.isDirectory));
      const read = async (entry: ZipEntry) => [
        entry.name,
        (await sequential.read(entry)).equals(await plain.read(plain.getEntry(entry.name)!)),
        (await sequential.verify(entry, 8)).equals(Buffer.from(files[entry.name]!.subarray(0, 8))),
      ];
      const results =
        how === "concurrently"
          ? await Promise.all(entries.map(read))
          : await entries.reduce<Promise<unknown[][]>>(
              async (done, entry) => [...(await done), await read(entry)],
              Promise.resolve([]),
            );
      expect(results).toEqual(entries.map((entry) => [entry.name, true, true]));
    } finally {
      await plain.close();
      await sequential.close();
    }
  });

  it("reports a damaged entry as corrupt-zip, as a plain reader does", async () => {
    const bytes = Buffer.from(zipSync(files, { level: 6 }));
    const entry = ZipReader.fromBuffer(bytes).getEntry("pkg/module_200.py")!;
    bytes[entry.localHeaderOffset + 30 + entry.name.length + 3]! ^= 0xff;
    const path = join(await temporaryFolder(), "damaged.zip");
    await writeFile(path, bytes);
    const reader = await ZipReader.open(path, { sequential: true });
    try {
      await expect(reader.read(reader.getEntry(entry.name)!)).rejects.toMatchObject({
        code: "corrupt-zip",
      });
      expect((await reader.read(reader.getEntry("pkg/zz_last.txt")!)).toString()).toBe("the end\n");
    } finally {
      await reader.close();
    }
  });
});

// Batches inflate into reused memory through zlib's handle where Node.js has it, else with
// gunzipSync (gunzip-members.ts): both paths give the same results.
describe.each([
  ["into reused memory", false],
  ["with gunzipSync", true],
])("ZipReader.verifyEach (small deflated entries inflated together, %s)", (_path, fresh) => {
  beforeAll(() => useFreshMemoryForGunzip(fresh));
  afterAll(() => useFreshMemoryForGunzip(false));
  /**
   * 300 small deflated files (about 2.4 MB in all: several batches), a stored one and
   * three large ones (verified alone, in chunks, several at once), in that order.
   */
  const small = Array.from({ length: 300 }, (_, index) =>
    Buffer.from(`# module ${index}\n${`VALUE_${index} = ${index * 7}\n`.repeat(400 + index)}`),
  );
  const large = Buffer.from("import os\nVALUE = 'layer'\n".repeat(121_000));
  const archive = () => {
    const files: Record<string, [Uint8Array, { level: 0 | 6 }]> = {};
    for (const [index, data] of small.entries()) {
      files[`pkg/m${String(index).padStart(3, "0")}.py`] = [new Uint8Array(data), { level: 6 }];
    }
    files["pkg/stored.txt"] = [new Uint8Array(Buffer.from("stored bytes")), { level: 0 }];
    files["pkg/large.py"] = [new Uint8Array(large), { level: 6 }];
    files["pkg/large2.py"] = [new Uint8Array(Buffer.concat([large, large])), { level: 6 }];
    files["pkg/large3.bin"] = [new Uint8Array(large), { level: 0 }];
    return Buffer.from(zipSync(files));
  };
  /** Offset of the central directory record of `name` (APPNOTE 4.3.12). */
  const centralRecord = (bytes: Buffer, reader: ZipReader, name: string) => {
    let offset = reader.centralDirectoryOffset;
    for (;;) {
      const nameLength = bytes.readUInt16LE(offset + 28);
      const found = bytes.toString("utf8", offset + 46, offset + 46 + nameLength);
      if (found === name) return offset;
      offset += 46 + nameLength + bytes.readUInt16LE(offset + 30) + bytes.readUInt16LE(offset + 32);
    }
  };
  const dataOffset = (entry: ZipEntry) => entry.localHeaderOffset + 30 + entry.name.length;

  it("returns every entry's first bytes, as verify does entry by entry", async () => {
    const reader = ZipReader.fromBuffer(archive());
    const entries = reader.entries.filter((entry) => !entry.isDirectory);
    const results = await reader.verifyEach(entries, 16);
    expect(results).toHaveLength(entries.length);
    for (const [index, entry] of entries.entries()) {
      expect(results[index]).toEqual(await reader.verify(entry, 16));
    }
    expect(results[0]!.toString()).toBe("# module 0\nVALUE");
  });

  type Damage = (bytes: Buffer, reader: ZipReader, entry: ZipEntry) => void;
  const flipData: Damage = (bytes, _reader, entry) => {
    bytes[dataOffset(entry) + Math.floor(entry.compressedSize / 2)]! ^= 0xff;
  };
  const cases: [string, string, Damage][] = [
    ["a damaged byte in a batched entry", "pkg/m150.py", flipData],
    ["a damaged byte in the first entry", "pkg/m000.py", flipData],
    ["a damaged byte in the last batched entry", "pkg/m299.py", flipData],
    [
      "a recorded CRC-32 that does not match",
      "pkg/m151.py",
      (bytes, reader, entry) => {
        const record = centralRecord(bytes, reader, entry.name);
        bytes.writeUInt32LE((bytes.readUInt32LE(record + 16) ^ 1) >>> 0, record + 16);
      },
    ],
    [
      "a recorded length one byte short",
      "pkg/m152.py",
      (bytes, reader, entry) => {
        const record = centralRecord(bytes, reader, entry.name);
        bytes.writeUInt32LE(entry.uncompressedSize - 1, record + 24);
      },
    ],
    ["a damaged stored entry", "pkg/stored.txt", flipData],
    ["a damaged byte in the large entry", "pkg/large.py", flipData],
    ["a damaged byte in the second of three large entries", "pkg/large2.py", flipData],
    ["a damaged byte in a large stored entry", "pkg/large3.bin", flipData],
  ];
  it.each(cases)(
    "reports %s for that entry alone, as verify does",
    async (_label, name, damage) => {
      const bytes = archive();
      const intact = ZipReader.fromBuffer(Buffer.from(bytes));
      damage(bytes, intact, intact.getEntry(name)!);
      const reader = ZipReader.fromBuffer(bytes);
      const entries = reader.entries.filter((entry) => !entry.isDirectory);
      const results = await reader.verifyEach(entries, 16);
      const failed = entries.filter((_, index) => !Buffer.isBuffer(results[index]));
      expect(failed.map((entry) => entry.name)).toEqual([name]);
      const error = results[entries.findIndex((entry) => entry.name === name)];
      expect(error).toMatchObject({ code: "corrupt-zip" });
      const alone = await reader.verify(reader.getEntry(name)!, 16).catch((caught) => caught);
      expect((error as Error).message).toBe((alone as Error).message);
      for (const [index, entry] of entries.entries()) {
        if (entry.name !== name) expect(results[index]).toEqual(await reader.verify(entry, 16));
      }
    },
  );

  it("reports an encrypted entry as unsupported and verifies the others", async () => {
    const bytes = archive();
    const reader = ZipReader.fromBuffer(Buffer.from(bytes));
    const record = centralRecord(bytes, reader, "pkg/m010.py");
    bytes.writeUInt16LE(bytes.readUInt16LE(record + 8) | 1, record + 8);
    const damaged = ZipReader.fromBuffer(bytes);
    const entries = damaged.entries.filter((entry) => !entry.isDirectory);
    const results = await damaged.verifyEach(entries, 0);
    const failed = results.flatMap((result, index) =>
      Buffer.isBuffer(result) ? [] : [[entries[index]!.name, (result as { code: string }).code]],
    );
    expect(failed).toEqual([["pkg/m010.py", "unsupported-zip-feature"]]);
  });
});
