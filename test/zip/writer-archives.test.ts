import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { expect, it } from "vitest";
import { type PlannedEntry, writeDeterministicZip, ZipReader } from "../../src/zip/index.js";
import { buildWheel } from "../helpers/wheels.js";
import { useTemporaryFolders } from "./helpers.js";

const temporaryFolder = useTemporaryFolders();

it("copies from many source archives, read ahead of use, one of them needed again at the end", async () => {
  // Twelve wheels (more than the writer reads ahead) whose entries interleave in the
  // output order: wheel 0 also owns the last name, so it is used first and last.
  const folder = await temporaryFolder();
  const planned: PlannedEntry[] = [];
  const expected = new Map<string, Uint8Array>();
  for (let index = 0; index < 12; index++) {
    const files: Record<string, string> = {
      [`pkg${String(index).padStart(2, "0")}/__init__.py`]: `value = ${index}\n`.repeat(40),
      [`pkg${String(index).padStart(2, "0")}/data.txt`]: `data ${index}\n`,
    };
    if (index === 0) files["zzz/last.txt"] = "the last entry comes from the first wheel\n";
    const wheel = buildWheel({ name: `many${index}`, version: "1.0", files });
    const wheelPath = join(folder, wheel.filename);
    await writeFile(wheelPath, wheel.bytes);
    const reader = await ZipReader.open(wheelPath);
    for (const entry of reader.entries) {
      if (entry.isDirectory || entry.name.includes(".dist-info/")) continue;
      planned.push({
        name: entry.name,
        mode: 0o644,
        source: { kind: "zip", archivePath: wheelPath, entry },
      });
      expected.set(entry.name, new Uint8Array(await reader.read(entry)));
    }
    await reader.close();
  }
  const outputPath = join(folder, "layer.zip");
  const result = await writeDeterministicZip(outputPath, planned.reverse());
  const unzipped = unzipSync(new Uint8Array(await readFile(outputPath)));
  const files = Object.fromEntries(
    Object.entries(unzipped).filter(([name]) => !name.endsWith("/")),
  );
  expect(Object.keys(files).sort()).toEqual([...expected.keys()].sort());
  for (const [name, data] of expected) expect(files[name]).toEqual(data);
  expect(result.entryCount).toBe(expected.size + 13);
});
