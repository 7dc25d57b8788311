/**
 * What each entry of a written layer zip was made from, as cached data (kept with the
 * lineage's latest layer, `layers-v1/latest/<lineage>.json`): per entry in zip order, a wheel (by sha256) and the
 * wheel entry it is a raw copy of, a directory, or nothing reusable (what pylayer wrote
 * itself). Names, offsets and lengths are not stored: the zip's own central directory
 * says them. The next zip written for the same lineage (pylayer's version, layout,
 * targets, timestamp: see `apply.ts`) copies the records whose source is unchanged from
 * that zip instead of reading every wheel again (`PreviousZip` in src/zip/writer.ts).
 */
import type { CachedLayer } from "../cache/index.js";
import { DIRECTORY_SOURCE, type PreviousZip, type ZipRecord } from "../zip/index.js";

/** Bump when the meaning of stored sources changes. */
const RECORDS_FORMAT = 2;

interface StoredRecords {
  format: number;
  /** The lineage the zip was written for: only a zip of the same lineage copies from it. */
  lineage: string;
  mtime: number;
  entryCount: number;
  wheels: string[];
  /**
   * Per entry: 0 (not reusable), 1 (a directory), or [wheel index, wheel entry name] where
   * a number stands for the entry name's tail from that index (the common case: the
   * install path is a folder plus the wheel path).
   */
  sources: (0 | 1 | [number, number | string])[];
}

/** The source key of an entry copied raw from the wheel with this sha256. */
export function wheelSourceKey(wheelSha256: string, entryName: string): string {
  return `${wheelSha256}:${entryName}`;
}

const SHA256_LENGTH = 64;

export function storeRecords(
  records: readonly ZipRecord[],
  lineage: string,
  mtime: Date,
): StoredRecords {
  const wheels: string[] = [];
  const wheelIndex = new Map<string, number>();
  const sources = records.map(({ name, source }): StoredRecords["sources"][number] => {
    if (source === undefined) return 0;
    if (source === DIRECTORY_SOURCE) return 1;
    const sha256 = source.slice(0, SHA256_LENGTH);
    const entryName = source.slice(SHA256_LENGTH + 1);
    let index = wheelIndex.get(sha256);
    if (index === undefined) {
      index = wheels.length;
      wheels.push(sha256);
      wheelIndex.set(sha256, index);
    }
    const start = name.length - entryName.length;
    return [index, start >= 0 && name.endsWith(entryName) ? start : entryName];
  });
  return {
    format: RECORDS_FORMAT,
    lineage,
    mtime: mtime.getTime(),
    entryCount: records.length,
    wheels,
    sources,
  };
}

/**
 * The cached layer as a previous zip for the writer, or null when the stored sources are
 * not well formed or were written for another lineage.
 */
export function previousZipOf(
  stored: unknown,
  layer: CachedLayer,
  lineage: string,
): PreviousZip | null {
  if (typeof stored !== "object" || stored === null) return null;
  const value = stored as Partial<StoredRecords>;
  const { format, mtime, entryCount, wheels, sources } = value;
  if (format !== RECORDS_FORMAT || value.lineage !== lineage) return null;
  if (typeof mtime !== "number" || typeof entryCount !== "number") return null;
  if (!Array.isArray(wheels) || !Array.isArray(sources) || sources.length !== entryCount) {
    return null;
  }
  return {
    path: layer.path,
    size: layer.size,
    sha256: layer.sha256,
    mtime,
    entryCount,
    sourceOf(index, name) {
      const source = sources[index];
      if (source === 1) return DIRECTORY_SOURCE;
      if (!Array.isArray(source)) return undefined;
      const [wheel, entry] = source;
      const sha256 = typeof wheel === "number" ? wheels[wheel] : undefined;
      if (typeof sha256 !== "string") return undefined;
      const entryName = typeof entry === "number" ? name.slice(entry) : entry;
      return typeof entryName === "string" && entryName !== ""
        ? wheelSourceKey(sha256, entryName)
        : undefined;
    },
  };
}
