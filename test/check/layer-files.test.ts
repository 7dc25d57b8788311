import { posix } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { readLayerFiles } from "../../src/check/layer-files.js";
import { ZipReader } from "../../src/zip/index.js";
import { buildLayerZip } from "./layers.js";

/** The folders above each name and the RECORD rows resolved with `node:path` (the reference). */
function reference(names: string[], siteDir: string, rows: string[]) {
  const directories = new Set<string>();
  for (const name of names) {
    let folder = posix.dirname(name);
    while (folder !== "." && folder !== "" && !directories.has(folder)) {
      directories.add(folder);
      folder = posix.dirname(folder);
    }
  }
  const recordPaths = rows
    .map((row) => ({ row, resolved: posix.normalize(posix.join(siteDir, row)) }))
    .filter(
      ({ row, resolved }) =>
        !resolved.startsWith("../") && resolved !== ".." && !posix.isAbsolute(row),
    )
    .map(({ resolved }) => resolved)
    .filter((resolved) => resolved !== `${siteDir}/pkg-1.0.dist-info/RECORD`);
  return { directories, recordPaths };
}

describe("readLayerFiles", () => {
  it("finds folders and resolves RECORD rows as node:path does, for plain and unusual paths", async () => {
    const siteDir = "python/lib/python3.12/site-packages";
    const rows = [
      "pkg/__init__.py",
      "pkg/sub/mod.py",
      "./pkg/dot.py",
      "pkg/./inner.py",
      "pkg/../outside.py",
      "pkg//double.py",
      "pkg/folder/",
      "../../../escape.py",
      "/absolute.py",
      ".hidden/x.py",
      "a..b/c.py",
      "pkg-1.0.dist-info/METADATA",
      "pkg-1.0.dist-info/RECORD",
    ];
    const record = `${rows.map((row) => `${row},,`).join("\n")}\n`;
    const names = [
      `${siteDir}/pkg/__init__.py`,
      `${siteDir}/pkg/sub/mod.py`,
      `${siteDir}/pkg//double.py`,
      `${siteDir}/./dot/x.py`,
      `${siteDir}/pkg/../up.py`,
      `${siteDir}/.hidden/x.py`,
      "python/top.py",
      `${siteDir}/pkg-1.0.dist-info/METADATA`,
      `${siteDir}/pkg-1.0.dist-info/RECORD`,
    ];
    const contents: Record<string, string> = Object.fromEntries(names.map((name) => [name, ""]));
    contents[`${siteDir}/pkg-1.0.dist-info/METADATA`] = "Name: pkg\nVersion: 1.0\n";
    contents[`${siteDir}/pkg-1.0.dist-info/RECORD`] = record;
    const reader = ZipReader.fromBuffer(buildLayerZip(contents));
    const files = await readLayerFiles(reader);
    const expected = reference(names, siteDir, rows);
    expect([...files.directories].sort()).toEqual([...expected.directories].sort());
    expect(files.distributions).toHaveLength(1);
    expect(files.distributions[0]!.recordPaths).toEqual(expected.recordPaths);
    expect(files.distributions[0]!.recordPaths).toContain(`${siteDir}/pkg/dot.py`);
    expect(files.distributions[0]!.recordPaths).toContain(`${siteDir}/outside.py`);
    expect(files.distributions[0]!.recordPaths).toContain(`${siteDir}/pkg/double.py`);
    expect(files.directories.has(`${siteDir}/pkg/`)).toBe(true);
  });
});

describe("readLayerFiles with texts the build knows", () => {
  const siteDir = "python";
  const metadata = "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n\nA long description.\n";
  const record = "pkg/__init__.py,,\npkg-1.0.dist-info/METADATA,,\npkg-1.0.dist-info/RECORD,,\n";
  const contents = {
    [`${siteDir}/pkg/__init__.py`]: "",
    [`${siteDir}/pkg-1.0.dist-info/METADATA`]: metadata,
    [`${siteDir}/pkg-1.0.dist-info/RECORD`]: record,
    [`${siteDir}/pkg-1.0.dist-info/top_level.txt`]: "pkg\n",
  };
  const open = () => ZipReader.fromBuffer(buildLayerZip(contents));
  const factsOf = (reader: ZipReader, texts: Record<string, string>) =>
    new Map(
      Object.entries(texts).map(([name, text]) => {
        const entry = reader.getEntry(name)!;
        const { method, crc32, compressedSize, uncompressedSize } = entry;
        return [name, { method, crc32, compressedSize, uncompressedSize, text }];
      }),
    );

  it("reads no text from the zip when the facts and the build's bytes hold them all", async () => {
    const reader = open();
    const read = vi.spyOn(reader, "read");
    const facts = factsOf(reader, {
      [`${siteDir}/pkg-1.0.dist-info/METADATA`]: "Name: pkg\nVersion: 1.0",
      [`${siteDir}/pkg-1.0.dist-info/top_level.txt`]: "pkg\n",
    });
    const generated = new Map([[`${siteDir}/pkg-1.0.dist-info/RECORD`, Buffer.from(record)]]);
    const files = await readLayerFiles(reader, facts, generated);
    expect(read).not.toHaveBeenCalled();
    const fromZip = await readLayerFiles(open());
    expect(files.distributions).toEqual(fromZip.distributions);
    expect(files.distributions[0]).toMatchObject({
      name: "pkg",
      version: "1.0",
      recordPaths: [`${siteDir}/pkg/__init__.py`, `${siteDir}/pkg-1.0.dist-info/METADATA`],
      topLevelFile: ["pkg"],
    });
  });

  it("reads the zip's entry when the build's bytes are not the zip record's", async () => {
    // Same length, other bytes (another CRC-32); and a shorter text (another length).
    const others = [record.replace("pkg/__init__.py", "pkg/__init__.pz"), "pkg/x.py,,\n"];
    for (const other of others) {
      const reader = open();
      const read = vi.spyOn(reader, "read");
      const generated = new Map([[`${siteDir}/pkg-1.0.dist-info/RECORD`, Buffer.from(other)]]);
      const files = await readLayerFiles(reader, new Map(), generated);
      expect(read.mock.calls.map(([entry]) => entry.name)).toContain(
        `${siteDir}/pkg-1.0.dist-info/RECORD`,
      );
      expect(files.distributions[0]!.recordPaths).toContain(`${siteDir}/pkg/__init__.py`);
    }
  });
});
