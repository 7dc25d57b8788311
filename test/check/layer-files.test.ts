import { posix } from "node:path";
import { describe, expect, it } from "vitest";
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
