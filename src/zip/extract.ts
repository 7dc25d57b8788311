/** Writing a zip's files into a folder, with the modes and symbolic links it records. */
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PylayerError } from "../errors.js";
import type { ZipEntry, ZipReader } from "./reader.js";

/**
 * Extracts a zip into `destination` (the `/opt` of an emulated environment, or a folder a
 * deploy tool zips again). Files already there are replaced, as a later layer replaces an
 * earlier one's files on Lambda. Entries that would land outside `destination` are refused.
 * Returns the number of files written.
 */
export async function extractZip(reader: ZipReader, destination: string): Promise<number> {
  // A repeated name resolves to its last entry, as in Python's zipfile and ZipReader.getEntry.
  const latest = new Map<string, ZipEntry>();
  for (const entry of reader.entries) {
    const name = entry.name;
    if (
      name.startsWith("/") ||
      name.includes("\\") ||
      /^[A-Za-z]:/.test(name) ||
      name.split("/").some((part) => part === "..")
    ) {
      throw new PylayerError(
        "unsafe-zip",
        `${reader.name} has an entry that would be written outside the layer folder: ${name}`,
        { hint: "Rebuild the layer; Lambda refuses such zips too." },
      );
    }
    latest.set(name.replace(/\/+$/, ""), entry);
  }
  const folders = new Set<string>();
  const files: { target: string; entry: ZipEntry }[] = [];
  for (const [name, entry] of latest) {
    const target = join(destination, ...name.split("/").filter((part) => part !== ""));
    if (entry.isDirectory) folders.add(target);
    else {
      folders.add(dirname(target));
      files.push({ target, entry });
    }
  }
  for (const folder of [...folders].sort()) await mkdir(folder, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const { target, entry } = files[next++]!;
      const data = await reader.read(entry);
      await rm(target, { force: true, recursive: true });
      if (entry.isSymlink) {
        await symlink(data.toString("utf8"), target);
      } else {
        const mode = entry.unixMode === undefined ? 0o644 : entry.unixMode & 0o777 || 0o644;
        await writeFile(target, data, { mode });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, files.length) }, worker));
  return files.length;
}
