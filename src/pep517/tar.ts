/**
 * Reading source distributions: `.tar.gz` (PEP 625's format: POSIX ustar or pax, as
 * Python's tarfile writes them, plus GNU long names) and `.zip` archives. Only regular
 * files and folders are kept; links, devices and any path that would leave the
 * destination are skipped, as tarfile's `data` filter refuses them.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, posix, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { PylayerError } from "../errors.js";
import { ZipReader } from "../zip/index.js";

const gunzipAsync = promisify(gunzip);

export interface ArchiveFile {
  /** Path inside the archive, `/`-separated, without a leading `./`. */
  path: string;
  data: Uint8Array;
  executable: boolean;
}

const decoder = new TextDecoder();

function text(block: Uint8Array, offset: number, length: number): string {
  const slice = block.subarray(offset, offset + length);
  const end = slice.indexOf(0);
  return decoder.decode(end < 0 ? slice : slice.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, length: number): number {
  const value = text(block, offset, length).trim();
  return value === "" ? 0 : Number.parseInt(value, 8);
}

/** pax extended header records: `LENGTH key=value\n`. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  const body = decoder.decode(data);
  let index = 0;
  while (index < body.length) {
    const space = body.indexOf(" ", index);
    if (space < 0) break;
    const length = Number(body.slice(index, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = Buffer.from(body.slice(index)).subarray(0, length).toString("utf8");
    const equals = record.indexOf("=");
    if (equals > 0)
      records.set(record.slice(space - index + 1, equals), record.slice(equals + 1, -1));
    index += Buffer.byteLength(record);
  }
  return records;
}

/** The regular files of a tar stream (already decompressed). */
export function readTar(bytes: Uint8Array, source: string): ArchiveFile[] {
  const files: ArchiveFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  let pax = new Map<string, string>();
  while (offset + 512 <= bytes.length) {
    const header = bytes.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0);
    const mode = octal(header, 100, 8);
    const prefix = text(header, 345, 155);
    let name = text(header, 0, 100);
    if (prefix !== "" && decoder.decode(header.subarray(257, 262)) === "ustar") {
      name = `${prefix}/${name}`;
    }
    const dataStart = offset + 512;
    if (dataStart + size > bytes.length) {
      throw new PylayerError(
        "invalid-sdist",
        `${source} is truncated (a tar entry runs past its end)`,
        {
          hint: "Download it again; the file is incomplete or not a tar archive.",
        },
      );
    }
    const data = bytes.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = paxRecords(data);
      continue;
    }
    if (type === "g") continue;
    if (type === "L") {
      longName = text(data, 0, data.length);
      continue;
    }
    const path = pax.get("path") ?? longName ?? name;
    longName = undefined;
    pax = new Map();
    if (type !== "0" && type !== "\0" && type !== "7") continue;
    const normalized = posix.normalize(path.replace(/^(\.\/)+/, ""));
    files.push({ path: normalized, data, executable: (mode & 0o111) !== 0 });
  }
  return files;
}

/** The regular files of a `.tar.gz` or `.zip` source distribution. */
export async function readArchive(path: string, filename = path): Promise<ArchiveFile[]> {
  if (/\.zip$/i.test(filename)) {
    const reader = await ZipReader.open(path);
    try {
      const files: ArchiveFile[] = [];
      for (const entry of reader.entries) {
        if (entry.name.endsWith("/")) continue;
        files.push({
          path: posix.normalize(entry.name),
          data: await reader.read(entry),
          executable: false,
        });
      }
      return files;
    } finally {
      await reader.close();
    }
  }
  let bytes: Uint8Array = await readFile(path);
  if (/\.(tar\.gz|tgz)$/i.test(filename)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (error) {
      throw new PylayerError("invalid-sdist", `${filename} is not a gzip-compressed tar archive`, {
        hint: "Download it again, or report the broken file to the project.",
        cause: error,
      });
    }
  } else if (!/\.tar$/i.test(filename)) {
    throw new PylayerError(
      "unsupported-sdist",
      `${filename}: only .tar.gz and .zip source distributions are supported`,
      { hint: "Use a release published as .tar.gz (PEP 625) or a wheel." },
    );
  }
  return readTar(bytes, filename);
}

/** True when `path` stays inside its root after normalization. */
function isContained(path: string): boolean {
  return path !== "" && !path.startsWith("/") && !path.split("/").includes("..");
}

/** Writes the archive's files under `destination`; returns how many were written. */
export async function extractArchive(files: ArchiveFile[], destination: string): Promise<number> {
  const root = resolve(destination);
  let written = 0;
  for (const file of files) {
    if (!isContained(file.path)) continue;
    const target = resolve(root, file.path);
    if (!target.startsWith(root + sep)) continue;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.data, { mode: file.executable ? 0o755 : 0o644 });
    written++;
  }
  return written;
}

/**
 * The single top-level folder of an sdist (`name-version/`), which holds `PKG-INFO`
 * and `pyproject.toml`; undefined when the files are not under one folder.
 */
export function topFolder(files: ArchiveFile[]): string | undefined {
  const tops = new Set(files.map((file) => file.path.split("/")[0]!));
  if (tops.size !== 1) return undefined;
  const [top] = tops;
  return files.some((file) => file.path.includes("/")) ? top : undefined;
}

export function joinTop(top: string | undefined, path: string): string {
  return top === undefined ? path : join(top, path).split(sep).join("/");
}
