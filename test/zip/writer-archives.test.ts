import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { expect, it } from "vitest";
import { returnWholeFileBuffer, takeWholeFileBuffer } from "../../src/files.js";
import { type PlannedEntry, writeDeterministicZip, ZipReader } from "../../src/zip/index.js";
import { buildWheel } from "../helpers/wheels.js";
import { noise, useTemporaryFolders } from "./helpers.js";

const temporaryFolder = useTemporaryFolders();

/** Every entry of the archive, planned under `python/`. */
async function plannedUnderPython(archivePath: string): Promise<PlannedEntry[]> {
  const reader = await ZipReader.open(archivePath);
  const planned: PlannedEntry[] = reader.entries.map((entry) => ({
    name: `python/${entry.name}`,
    mode: 0o644,
    source: { kind: "zip", archivePath, entry },
  }));
  await reader.close();
  return planned;
}

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

it("copies entries stored in the reverse of the output order, and one larger than a read window", async () => {
  // The writer reads ahead when it moves forward through an archive; here every entry is
  // before the previous one, and one entry spans several of its 1 MiB windows.
  const folder = await temporaryFolder();
  const files: Record<string, Uint8Array> = {};
  for (let index = 299; index >= 0; index--) {
    files[`pkg/module_${String(index).padStart(3, "0")}.py`] = new Uint8Array(
      Buffer.from(`VALUE_${index} = ${index}\n`.repeat(20 + (index % 11) * 30)),
    );
  }
  const noise = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let index = 0, state = 11; index < noise.length; index++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    noise[index] = state >>> 24;
  }
  files["pkg/_native.so"] = new Uint8Array(noise);
  const archivePath = join(folder, "reversed.zip");
  await writeFile(archivePath, zipSync(files, { level: 6 }));
  const planned = await plannedUnderPython(archivePath);
  const outputPath = join(folder, "layer.zip");
  await writeDeterministicZip(outputPath, planned);
  const unzipped = unzipSync(new Uint8Array(await readFile(outputPath)));
  for (const [name, data] of Object.entries(files)) {
    expect(Buffer.from(unzipped[`python/${name}`]!).equals(Buffer.from(data)), name).toBe(true);
  }
});

it("refuses a source archive cut short, naming it, and leaves no file behind", async () => {
  const folder = await temporaryFolder();
  const wheel = buildWheel({
    name: "cut",
    version: "1.0",
    files: { "cut/__init__.py": "x = 1\n".repeat(5000), "cut/z.py": "y = 2\n" },
  });
  const wheelPath = join(folder, wheel.filename);
  await writeFile(wheelPath, wheel.bytes);
  const reader = await ZipReader.open(wheelPath);
  const planned: PlannedEntry[] = reader.entries
    .filter((entry) => !entry.isDirectory)
    .map((entry) => ({
      name: entry.name,
      mode: 0o644,
      source: { kind: "zip", archivePath: wheelPath, entry },
    }));
  const first = reader.getEntry("cut/__init__.py")!;
  await reader.close();
  // Keep the bytes up to the middle of the first entry's data: the directory read above is
  // what the writer was planned with, the file is what it finds.
  await writeFile(wheelPath, wheel.bytes.subarray(0, first.localHeaderOffset + 60));
  const outputFolder = join(folder, "out");
  await mkdir(outputFolder);
  await expect(
    writeDeterministicZip(join(outputFolder, "layer.zip"), planned),
  ).rejects.toMatchObject({
    code: "corrupt-zip",
    message: expect.stringContaining(wheel.filename),
  });
  expect(await readdir(outputFolder)).toEqual([]);
});

it("reads a source archive into memory an earlier zip's larger archive used, and writes the same bytes", async () => {
  // Source archives read whole go back to a process-wide spare set when their zip is
  // written (files.ts); the next archive read whole may land in one, over older bytes.
  const folder = await temporaryFolder();
  const plan = async (name: string, seed: number, size: number) => {
    const archivePath = join(folder, `${name}.zip`);
    await writeFile(
      archivePath,
      zipSync({ [`${name}/blob.bin`]: new Uint8Array(noise(size, seed)) }, { level: 0 }),
    );
    return plannedUnderPython(archivePath);
  };
  // Empty the spare set (at most two), so that it holds only this test's buffers.
  takeWholeFileBuffer(1024 * 1024);
  takeWholeFileBuffer(1024 * 1024);
  const small = await plan("small", 3, 1024 * 1024 + 17);
  const large = await plan("large", 5, 3 * 1024 * 1024 + 5);
  const first = await writeDeterministicZip(join(folder, "first.zip"), small);
  await writeDeterministicZip(join(folder, "large.zip"), large);
  // Both buffers are kept; with the small archive's own held here, the large archive's is
  // what the small archive is read into next.
  const held = takeWholeFileBuffer(1024 * 1024 + 17);
  expect(held.length).toBeLessThan(3 * 1024 * 1024 + 5);
  const spare = takeWholeFileBuffer(1024 * 1024 + 17);
  expect(spare.length).toBeGreaterThanOrEqual(3 * 1024 * 1024 + 5);
  returnWholeFileBuffer(spare);
  const again = await writeDeterministicZip(join(folder, "again.zip"), small);
  returnWholeFileBuffer(held);
  expect(again.sha256).toBe(first.sha256);
  const unzipped = unzipSync(new Uint8Array(await readFile(join(folder, "again.zip"))));
  expect(Buffer.from(unzipped["python/small/blob.bin"]!).equals(noise(1024 * 1024 + 17, 3))).toBe(
    true,
  );
});
