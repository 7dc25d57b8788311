import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { PylayerError } from "../../src/errors.js";
import {
  DOS_EPOCH,
  deterministicTimestamp,
  type PlannedEntry,
  writeDeterministicZip,
  ZipReader,
} from "../../src/zip/index.js";
import { buildWheel } from "../helpers/wheels.js";
import { noise, useTemporaryFolders } from "./helpers.js";

const temporaryFolder = useTemporaryFolders();

function bytes(
  name: string,
  data: string | Buffer,
  mode = 0o644,
  compress?: boolean,
): PlannedEntry {
  return {
    name,
    mode,
    source: {
      kind: "bytes",
      data: typeof data === "string" ? Buffer.from(data) : data,
      ...(compress === undefined ? {} : { compress }),
    },
  };
}

const sampleEntries: PlannedEntry[] = [
  bytes("pkg/__init__.py", "print('hello')\n".repeat(50)),
  bytes("pkg/data/noise.bin", noise(4096)),
  bytes("pkg/empty.txt", ""),
  bytes("bin/tool", "#!/bin/sh\necho tool\n", 0o755),
  bytes("pkg/ünïcode.txt", "non-ASCII name\n"),
  bytes("top.py", "x = 1\n", 0o644, false),
];

describe("writeDeterministicZip", () => {
  it("round-trips through pylayer's reader and an independent one (fflate)", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "out.zip");
    const result = await writeDeterministicZip(path, sampleEntries);

    const fileBytes = await readFile(path);
    expect(result.size).toBe(fileBytes.length);
    expect(result.sha256).toBe(createHash("sha256").update(fileBytes).digest("hex"));
    expect(result.sha256Base64).toBe(createHash("sha256").update(fileBytes).digest("base64"));
    // 6 files + bin/, pkg/, pkg/data/
    expect(result.entryCount).toBe(9);
    const expectedUnzipped = sampleEntries.reduce(
      (sum, entry) => sum + (entry.source.kind === "bytes" ? entry.source.data.length : 0),
      0,
    );
    expect(result.unzippedSize).toBe(expectedUnzipped);

    const reader = await ZipReader.open(path);
    try {
      expect(reader.entries.map((entry) => entry.name)).toEqual([
        "bin/",
        "bin/tool",
        "pkg/",
        "pkg/__init__.py",
        "pkg/data/",
        "pkg/data/noise.bin",
        "pkg/empty.txt",
        "pkg/ünïcode.txt",
        "top.py",
      ]);
      for (const planned of sampleEntries) {
        const entry = reader.getEntry(planned.name);
        expect(entry, planned.name).toBeDefined();
        if (planned.source.kind === "bytes") {
          expect(await reader.read(entry!)).toEqual(planned.source.data);
        }
      }
      // Deflated when it saves space, stored otherwise or when asked.
      expect(reader.getEntry("pkg/__init__.py")!.method).toBe(8);
      expect(reader.getEntry("pkg/data/noise.bin")!.method).toBe(0);
      expect(reader.getEntry("pkg/empty.txt")!.method).toBe(0);
      expect(reader.getEntry("top.py")!.method).toBe(0);
    } finally {
      await reader.close();
    }

    const independent = unzipSync(fileBytes);
    expect(Buffer.from(independent["pkg/ünïcode.txt"]!).toString()).toBe("non-ASCII name\n");
    expect(Buffer.from(independent["pkg/data/noise.bin"]!)).toEqual(noise(4096));
  });

  it("records modes, the Unix host, the UTF-8 flag and no extra fields", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "out.zip");
    await writeDeterministicZip(path, sampleEntries);
    const reader = await ZipReader.open(path);
    const byName = (name: string) => reader.getEntry(name)!;
    expect(byName("bin/tool").unixMode).toBe(0o100755);
    expect(byName("bin/tool").externalAttributes >>> 0).toBe((0o100755 << 16) >>> 0);
    expect(byName("top.py").unixMode).toBe(0o100644);
    expect(byName("pkg/").unixMode).toBe(0o040755);
    expect(byName("pkg/").isDirectory).toBe(true);
    expect(byName("pkg/").externalAttributes & 0x10).toBe(0x10);
    for (const entry of reader.entries) {
      expect(entry.versionMadeBy >>> 8, entry.name).toBe(3);
      expect(entry.flags, entry.name).toBe(entry.name.includes("ü") ? 0x0800 : 0);
    }
    await reader.close();
    // Central directory headers: extra field length (offset 30) is zero everywhere.
    const fileBytes = await readFile(path);
    let position = fileBytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    let headers = 0;
    while (position >= 0) {
      expect(fileBytes.readUInt16LE(position + 30)).toBe(0);
      headers++;
      position = fileBytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), position + 4);
    }
    expect(headers).toBe(9);
  });

  it("writes the same bytes whatever the input order", async () => {
    const folder = await temporaryFolder();
    const forward = await writeDeterministicZip(join(folder, "a.zip"), sampleEntries);
    const backward = await writeDeterministicZip(
      join(folder, "b.zip"),
      [...sampleEntries].reverse(),
    );
    const shuffled = await writeDeterministicZip(join(folder, "c.zip"), [
      sampleEntries[3]!,
      sampleEntries[0]!,
      sampleEntries[5]!,
      sampleEntries[1]!,
      sampleEntries[4]!,
      sampleEntries[2]!,
    ]);
    expect(backward.sha256).toBe(forward.sha256);
    expect(shuffled.sha256).toBe(forward.sha256);
  });

  it("matches a golden hash for a fixed zip of stored entries", async () => {
    // Stored entries only: this pins the zip structure byte for byte (headers, order,
    // timestamps, attributes) without depending on the bundled zlib's deflate output.
    const folder = await temporaryFolder();
    const result = await writeDeterministicZip(
      join(folder, "golden.zip"),
      [
        bytes("b/tool", "#!/bin/sh\n", 0o755, false),
        bytes("a.txt", "alpha\n", 0o644, false),
        bytes("é.txt", "utf-8 name\n", 0o644, false),
      ],
      { mtime: new Date(Date.UTC(2024, 4, 17, 13, 45, 31)) },
    );
    expect(result.sha256).toBe("7706743238de1c8ec6421372bce95d4743eabd95e5d0a99aaf5fad520b648a5c");
    expect(result.size).toBe(391);
  });

  it("orders names by their UTF-8 bytes", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "order.zip");
    // U+E000 is EE 80 80 in UTF-8 and U+1F600 is F0 9F 98 80, so U+E000 sorts first by bytes;
    // JavaScript's default (UTF-16) order puts U+1F600 first (its surrogate D83D < E000).
    await writeDeterministicZip(path, [
      bytes("\u{E000}.txt", "a"),
      bytes("\u{1F600}.txt", "b"),
      bytes("Z.txt", "c"),
      bytes("a-b.txt", "d"),
      bytes("a/b.txt", "e"),
    ]);
    const reader = await ZipReader.open(path);
    expect(reader.entries.map((entry) => entry.name)).toEqual([
      "Z.txt",
      "a-b.txt",
      "a/",
      "a/b.txt",
      "\u{E000}.txt",
      "\u{1F600}.txt",
    ]);
    await reader.close();

    // Without names above U+FFFF, the same byte order (é is C3 A9, U+E000 EE 80 80).
    const bmp = join(folder, "bmp.zip");
    await writeDeterministicZip(bmp, [
      bytes("\u{E000}.txt", "a"),
      bytes("\u00e9.txt", "b"),
      bytes("z.txt", "c"),
      bytes("a-b.txt", "d"),
      bytes("a/b.txt", "e"),
    ]);
    const bmpReader = await ZipReader.open(bmp);
    expect(bmpReader.entries.map((entry) => entry.name)).toEqual([
      "a-b.txt",
      "a/",
      "a/b.txt",
      "z.txt",
      "\u00e9.txt",
      "\u{E000}.txt",
    ]);
    await bmpReader.close();
  });

  it("copies entries of another zip raw, keeping method, CRC and compressed bytes", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({
      name: "demo",
      version: "1.0",
      files: {
        "demo/__init__.py": "value = 1\n".repeat(100),
        "demo/data.bin": new Uint8Array(noise(2000)),
      },
    });
    const wheelPath = join(folder, wheel.filename);
    await writeFile(wheelPath, wheel.bytes);
    const source = await ZipReader.open(wheelPath);
    const planned: PlannedEntry[] = source.entries.map((entry) => ({
      name: `python/${entry.name}`,
      mode: 0o644,
      source: { kind: "zip", archivePath: wheelPath, entry },
    }));
    const outputPath = join(folder, "layer.zip");
    const result = await writeDeterministicZip(outputPath, planned);
    const copy = await ZipReader.open(outputPath);
    for (const original of source.entries) {
      const copied = copy.getEntry(`python/${original.name}`)!;
      expect(copied.method).toBe(original.method);
      expect(copied.crc32).toBe(original.crc32);
      expect(copied.compressedSize).toBe(original.compressedSize);
      expect(copied.uncompressedSize).toBe(original.uncompressedSize);
      expect(await copy.readRaw(copied)).toEqual(await source.readRaw(original));
      expect(await copy.read(copied)).toEqual(await source.read(original));
    }
    expect(result.unzippedSize).toBe(
      source.entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0),
    );
    await copy.close();
    await source.close();
  });

  it("copies raw from archives too large to hold in memory, in chunks", async () => {
    // Past the 64 MiB whole-archive limit the writer uses positional reads, and entries past
    // 8 MiB are copied in chunks.
    const folder = await temporaryFolder();
    const big = Buffer.alloc(66 * 1024 * 1024);
    for (let index = 0; index < big.length; index += 4096) big.writeUInt32LE(index, index);
    const sourcePath = join(folder, "big-source.zip");
    await writeDeterministicZip(sourcePath, [
      bytes("big.bin", big, 0o644, false),
      bytes("small.txt", "small\n".repeat(100)),
    ]);
    const source = await ZipReader.open(sourcePath);
    const outputPath = join(folder, "copy.zip");
    await writeDeterministicZip(
      outputPath,
      source.entries
        .filter((entry) => !entry.isDirectory)
        .map((entry) => ({
          name: `copied/${entry.name}`,
          mode: 0o644,
          source: { kind: "zip" as const, archivePath: sourcePath, entry },
        })),
    );
    const copy = await ZipReader.open(outputPath);
    const copiedBig = await copy.read(copy.getEntry("copied/big.bin")!);
    expect(copiedBig.equals(big)).toBe(true);
    expect((await copy.read(copy.getEntry("copied/small.txt")!)).toString()).toBe(
      "small\n".repeat(100),
    );
    await copy.close();
    await source.close();
  });

  it("honours options.mtime as a UTC DOS timestamp", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "time.zip");
    await writeDeterministicZip(path, [bytes("a.txt", "a")], {
      mtime: new Date(Date.UTC(2021, 11, 31, 23, 59, 59)),
    });
    const fileBytes = await readFile(path);
    const time = fileBytes.readUInt16LE(10);
    const date = fileBytes.readUInt16LE(12);
    expect({
      year: (date >> 9) + 1980,
      month: (date >> 5) & 0xf,
      day: date & 0x1f,
      hour: time >> 11,
      minute: (time >> 5) & 0x3f,
      second: (time & 0x1f) * 2,
    }).toEqual({ year: 2021, month: 12, day: 31, hour: 23, minute: 59, second: 58 });
  });

  it("rejects duplicate names, file/directory clashes and unsafe names, leaving no file", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "bad.zip");
    const cases: { entries: PlannedEntry[]; code: string }[] = [
      { entries: [bytes("a.txt", "1"), bytes("a.txt", "2")], code: "duplicate-zip-entry" },
      { entries: [bytes("a", "1"), bytes("a/b", "2")], code: "duplicate-zip-entry" },
      { entries: [bytes("../x", "1")], code: "invalid-zip-entry" },
      { entries: [bytes("/x", "1")], code: "invalid-zip-entry" },
      { entries: [bytes("a//b", "1")], code: "invalid-zip-entry" },
      { entries: [bytes("a\\b", "1")], code: "invalid-zip-entry" },
      { entries: [bytes("a", "1", 0o4755)], code: "invalid-zip-entry" },
    ];
    for (const { entries, code } of cases) {
      await expect(writeDeterministicZip(path, entries), entries[0]!.name).rejects.toMatchObject({
        code,
      });
    }
    expect(await readdir(folder)).toEqual([]);
  });

  it("removes its temporary file when a source fails mid-way", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({ name: "demo", version: "1.0" });
    const wheelPath = join(folder, wheel.filename);
    await writeFile(wheelPath, wheel.bytes);
    const source = await ZipReader.open(wheelPath);
    const entry = source.getEntry("demo/__init__.py")!;
    await source.close();
    const planned: PlannedEntry[] = [
      bytes("a.txt", "first entry is written before the failure"),
      // Same entry, but claimed to be in an archive that does not exist.
      {
        name: "z.py",
        mode: 0o644,
        source: { kind: "zip", archivePath: join(folder, "gone.whl"), entry },
      },
    ];
    const error = await writeDeterministicZip(join(folder, "out.zip"), planned).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PylayerError);
    expect((error as PylayerError).message).toContain("gone.whl");
    expect(await readdir(folder)).toEqual([wheel.filename]);
  });

  it("replaces an existing output only on success", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "out.zip");
    await writeFile(path, "previous");
    await expect(
      writeDeterministicZip(path, [bytes("a", "1"), bytes("a", "2")]),
    ).rejects.toBeInstanceOf(PylayerError);
    expect(await readFile(path, "utf8")).toBe("previous");
    await writeDeterministicZip(path, [bytes("a", "1")]);
    expect((await readFile(path)).subarray(0, 2).toString()).toBe("PK");
  });

  it("switches to Zip64 end records past 65,534 entries", async () => {
    const folder = await temporaryFolder();
    const path = join(folder, "many.zip");
    const count = 65_540;
    const entries: PlannedEntry[] = [];
    for (let index = 0; index < count; index++) {
      entries.push(bytes(`f/${index.toString().padStart(5, "0")}`, `${index}`, 0o644, false));
    }
    const result = await writeDeterministicZip(path, entries);
    expect(result.entryCount).toBe(count + 1);
    const fileBytes = await readFile(path);
    // Classic end record: counts hold the 0xffff sentinel.
    const end = fileBytes.subarray(fileBytes.length - 22);
    expect(end.readUInt32LE(0)).toBe(0x06054b50);
    expect(end.readUInt16LE(10)).toBe(0xffff);
    // Zip64 locator right before it, pointing at the Zip64 end record.
    const locator = fileBytes.subarray(fileBytes.length - 42, fileBytes.length - 22);
    expect(locator.readUInt32LE(0)).toBe(0x07064b50);
    const zip64End = Number(locator.readBigUInt64LE(8));
    expect(fileBytes.readUInt32LE(zip64End)).toBe(0x06064b50);
    expect(Number(fileBytes.readBigUInt64LE(zip64End + 32))).toBe(count + 1);

    const reader = await ZipReader.open(path);
    expect(reader.entries).toHaveLength(count + 1);
    expect((await reader.read(reader.getEntry("f/65539")!)).toString()).toBe("65539");
    await reader.close();
    if (hasCommand("unzip")) {
      const test = spawnSync("unzip", ["-tqq", path], { encoding: "utf8" });
      expect(test.status, test.stdout + test.stderr).toBe(0);
    }
  });

  it("is read by Python's zipfile and by unzip -t", async (context) => {
    const folder = await temporaryFolder();
    const path = join(folder, "check.zip");
    await writeDeterministicZip(path, sampleEntries, { mtime: new Date(Date.UTC(2020, 5, 1)) });
    if (hasCommand("unzip")) {
      const test = spawnSync("unzip", ["-t", path], { encoding: "utf8" });
      expect(test.status, test.stdout + test.stderr).toBe(0);
      expect(test.stdout).toContain("No errors detected");
    }
    if (!hasCommand("python3.11")) {
      context.skip("python3.11 is not installed; skipping the zipfile cross-check");
      return;
    }
    const script = [
      "import json, sys, zipfile",
      "with zipfile.ZipFile(sys.argv[1]) as archive:",
      "    assert archive.testzip() is None",
      "    print(json.dumps([[i.filename, i.external_attr >> 16, list(i.date_time),",
      "        archive.read(i).hex()] for i in archive.infolist()]))",
    ].join("\n");
    const output = execFileSync("python3.11", ["-c", script, path], { encoding: "utf8" });
    const listed = JSON.parse(output) as [string, number, number[], string][];
    expect(listed.map(([name]) => name)).toEqual([
      "bin/",
      "bin/tool",
      "pkg/",
      "pkg/__init__.py",
      "pkg/data/",
      "pkg/data/noise.bin",
      "pkg/empty.txt",
      "pkg/ünïcode.txt",
      "top.py",
    ]);
    for (const [name, mode, dateTime, hex] of listed) {
      expect(dateTime, name).toEqual([2020, 6, 1, 0, 0, 0]);
      const planned = sampleEntries.find((entry) => entry.name === name);
      if (planned === undefined) {
        expect(mode, name).toBe(0o40755);
      } else {
        expect(mode, name).toBe(0o100000 | planned.mode);
        expect(Buffer.from(hex, "hex"), name).toEqual(
          planned.source.kind === "bytes" ? planned.source.data : undefined,
        );
      }
    }
  });
});

describe("deterministicTimestamp", () => {
  // reproducible-builds.org SOURCE_DATE_EPOCH specification: an integer of seconds since
  // the Unix epoch; malformed values are an error. DOS timestamps start in 1980.
  const cases: { value: string | undefined; expected: string }[] = [
    { value: undefined, expected: "1980-01-01T00:00:00.000Z" },
    { value: "", expected: "1980-01-01T00:00:00.000Z" },
    { value: "0", expected: "1980-01-01T00:00:00.000Z" },
    { value: "315532799", expected: "1980-01-01T00:00:00.000Z" },
    { value: "315532800", expected: "1980-01-01T00:00:00.000Z" },
    { value: "1700000000", expected: "2023-11-14T22:13:20.000Z" },
    { value: "99999999999999999", expected: "2107-12-31T23:59:58.000Z" },
  ];
  for (const { value, expected } of cases) {
    it(`SOURCE_DATE_EPOCH=${JSON.stringify(value)} → ${expected}`, () => {
      const env = value === undefined ? {} : { SOURCE_DATE_EPOCH: value };
      expect(deterministicTimestamp(env).toISOString()).toBe(expected);
    });
  }

  it("rejects malformed values", () => {
    for (const value of ["abc", "-5", "1.5", "12abc"]) {
      expect(() => deterministicTimestamp({ SOURCE_DATE_EPOCH: value }), value).toThrow(
        expect.objectContaining({ code: "invalid-source-date-epoch" }),
      );
    }
  });

  it("feeds the zip timestamp so the same epoch gives the same bytes", async () => {
    const folder = await temporaryFolder();
    const env = { SOURCE_DATE_EPOCH: "1700000000" };
    const first = await writeDeterministicZip(join(folder, "a.zip"), sampleEntries, {
      mtime: deterministicTimestamp(env),
    });
    const second = await writeDeterministicZip(join(folder, "b.zip"), sampleEntries, {
      mtime: deterministicTimestamp(env),
    });
    const epoch = await writeDeterministicZip(join(folder, "c.zip"), sampleEntries, {
      mtime: DOS_EPOCH,
    });
    expect(second.sha256).toBe(first.sha256);
    expect(epoch.sha256).not.toBe(first.sha256);
    const date = (await readFile(join(folder, "a.zip"))).readUInt16LE(12);
    expect((date >> 9) + 1980).toBe(2023);
  });
});

function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}
