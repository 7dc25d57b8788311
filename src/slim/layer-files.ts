/**
 * Helpers over the planned entries of a layer zip shared by slimming and compiling:
 * where the site folder of a path is, reading an entry's bytes, and keeping every
 * `.dist-info/RECORD` true to the files that are actually shipped (PEP 376: RECORD lists
 * the installed files; pip adds the `.pyc` files it compiles to it too).
 */
import { posix } from "node:path";
import { formatRecord, parseRecord, type RecordRow, recordHash } from "../wheel/index.js";
import type { PlannedEntry, ZipReader } from "../zip/index.js";

const SITE_PACKAGES = /^python\/lib\/python3\.\d+\/site-packages\//u;

/**
 * The site folder (the folder on `sys.path`) holding `path`, a zip path: `python` or
 * `python/lib/python3.X/site-packages`; undefined for paths outside both (`bin/`, data).
 */
export function siteDirOf(path: string): string | undefined {
  const match = SITE_PACKAGES.exec(path);
  if (match !== null) return match[0].slice(0, -1);
  return path.startsWith("python/") ? "python" : undefined;
}

/** Reads the uncompressed bytes of planned entries, opening each source wheel once. */
export type EntryReader = (entry: PlannedEntry) => Promise<Buffer>;

export function createEntryReader(openReader: (path: string) => Promise<ZipReader>): EntryReader {
  return async (entry) => {
    const source = entry.source;
    if (source.kind === "bytes") return source.data;
    const reader = await openReader(source.archivePath);
    return reader.read(source.entry);
  };
}

/** Uncompressed size of a planned entry. */
export function entrySize(entry: PlannedEntry): number {
  return entry.source.kind === "bytes"
    ? entry.source.data.length
    : entry.source.entry.uncompressedSize;
}

const RECORD_FILE = /\.dist-info\/RECORD$/u;

export function isRecordFile(name: string): boolean {
  return RECORD_FILE.test(name) && siteDirOf(name) !== undefined;
}

/** A file added to the layer, to be listed in the RECORD that lists `ownerPath`. */
export interface AddedFile {
  entry: PlannedEntry;
  data: Buffer;
  /** Zip path of the file it derives from (the `.py` of a `.pyc`). */
  ownerPath: string;
}

/**
 * Returns `entries` with every RECORD rewritten: rows of `removed` paths dropped, rows
 * for `added` files inserted into the RECORD of the distribution that owns their
 * `ownerPath`, and the added entries themselves appended. RECORD paths are relative to
 * the site folder holding the `.dist-info` folder.
 */
export async function updateRecords(
  entries: readonly PlannedEntry[],
  read: EntryReader,
  changes: { removed?: ReadonlySet<string>; added?: readonly AddedFile[] },
): Promise<PlannedEntry[]> {
  const removed = changes.removed ?? new Set<string>();
  const added = changes.added ?? [];
  const records = entries.filter((entry) => isRecordFile(entry.name));
  const parsed = new Map<string, { rows: RecordRow[]; base: string }>();
  const ownerRecord = new Map<string, string>();
  for (const record of records) {
    const base = posix.dirname(posix.dirname(record.name));
    let rows: RecordRow[];
    try {
      rows = parseRecord((await read(record)).toString("utf8"), record.name);
    } catch {
      // A RECORD that cannot be parsed is shipped as it is.
      continue;
    }
    parsed.set(record.name, { rows, base });
    for (const row of rows)
      ownerRecord.set(posix.normalize(posix.join(base, row.path)), record.name);
  }
  const additions = new Map<string, RecordRow[]>();
  for (const file of added) {
    const recordName = ownerRecord.get(file.ownerPath);
    if (recordName === undefined) continue;
    const { base } = parsed.get(recordName)!;
    const rows = additions.get(recordName) ?? [];
    rows.push({
      path: posix.relative(base, file.entry.name),
      hash: recordHash(file.data),
      size: file.data.length,
    });
    additions.set(recordName, rows);
  }
  const replaced = new Map<string, PlannedEntry>();
  for (const [recordName, { rows, base }] of parsed) {
    const extra = additions.get(recordName) ?? [];
    const kept = rows.filter((row) => !removed.has(posix.normalize(posix.join(base, row.path))));
    if (kept.length === rows.length && extra.length === 0) continue;
    const all = [...kept, ...extra].sort((left, right) =>
      Buffer.compare(Buffer.from(left.path), Buffer.from(right.path)),
    );
    const data = Buffer.from(formatRecord(all), "utf8");
    const original = records.find((record) => record.name === recordName)!;
    replaced.set(recordName, {
      name: recordName,
      mode: original.mode,
      source: { kind: "bytes", data, compress: false },
    });
  }
  return [
    ...entries.map((entry) => replaced.get(entry.name) ?? entry),
    ...added.map((file) => file.entry),
  ];
}

/**
 * Runs `work` over `items` with at most `limit` calls in flight. On a failure no new
 * item starts, the calls in flight finish, and the first error is thrown.
 */
export async function mapWithConcurrency<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
