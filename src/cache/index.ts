/**
 * pylayer's on-disk cache: versioned buckets, content-addressed wheels, atomic writes.
 *
 * Layout under the cache root (each bucket name carries its format version; an
 * incompatible change gets a new bucket name, never a migration):
 *
 *   wheels-v1/sha256/<2 hex>/<64 hex>/<wheel filename>   wheels, by the sha256 of their bytes
 *   <bucket>/.tmp/<name>.<pid>-<random>                 writes in progress (renamed into place)
 *   simple-v1/<2 hex>/<sha256 of page URL>.json          index pages with ETag/Last-Modified
 *   metadata-v1/sha256/<2 hex>/<64 hex>.json             METADATA by the wheel's sha256
 *   metadata-v1/url/<2 hex>/<sha256 of wheel URL>.json   METADATA when the wheel's hash is unknown
 *   local-v1/<2 hex>/<sha256 of path>.json               hashes of local wheel files by identity
 *   layers-v1/<64 hex>.zip + <64 hex>.json               built layer zips by the digest of
 *                                                        everything that decides their bytes
 *   plans-v1/<64 hex>.json                               resolutions by the digest of their
 *                                                        inputs, with the pages they read
 *   checks-v1/wheels/<2 hex>/<64 hex>.json               what the check read in a wheel (CRCs,
 *                                                        ELF facts), by wheel sha256 + checker
 *   checks-v1/layers/<64 hex>.json                       static check results of a zip, by the
 *                                                        digest of zip sha256, targets, options
 *   installs-v1/<2 hex>/<64 hex>.json                    the install plan of one wheel into one
 *                                                        layout, by the digest of wheel sha256,
 *                                                        layout and install format (src/wheel)
 *
 * Concurrency contract: every write goes to a uniquely named temporary file (pid +
 * random) in its bucket's `.tmp` folder (same file system) and is renamed into place, so
 * a reader sees either the old entry, the new entry or nothing, never a partial file. Two
 * builds writing the same key both succeed; the last rename wins and both contents are
 * valid. `prepare` removes the temporary files of processes that are gone (killed
 * mid-download). Readers treat a file that disappears, or an entry that does not parse
 * or does not match its key, as a miss. Callers verify hashes and sizes before calling a
 * `put*` method: nothing unverified is stored.
 *
 * Integrity contract: what is read back is verified against the hash it is stored under
 * (wheels by the sha256 in their path, built layers by the sha256 in their record, JSON
 * entries by their key and checksum); an entry that fails is deleted and reads as a miss,
 * and the caller is told (`onCorrupt`) so that it can say so.
 *
 * This module imports only Node built-ins and `../files.js` (tests load both in child
 * processes).
 */
import { createHash, randomBytes } from "node:crypto";
import {
  constants,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { copyFile, mkdir, readdir, rm, unlink, writeFile } from "node:fs/promises";
import { dirname, join, posix, win32 } from "node:path";
import { BatchedWriter, hashFile, openFile, processIsAlive, statOrNull } from "../files.js";

export const CACHE_BUCKETS = {
  wheels: "wheels-v1",
  simple: "simple-v1",
  metadata: "metadata-v1",
  local: "local-v1",
  layers: "layers-v1",
  plans: "plans-v1",
  /** Wheels built from sdists and local projects (src/pep517), with their build logs. */
  built: "built-v1",
  /** Check results (src/check/reuse.ts): per wheel and per zip. */
  checks: "checks-v1",
  /** Install plans of wheels (src/wheel/install-cache.ts): per wheel sha256, layout, format. */
  installs: "installs-v1",
} as const;

/** How many zips' check results the cache keeps; the least recently used ones go first. */
export const CACHED_CHECKS_KEPT = 256;

/** The two kinds of check results: facts of one wheel, and the static result of one zip. */
export type CheckEntryKind = "wheels" | "layers";

/** How many resolutions the cache keeps; the least recently used ones go first. */
export const CACHED_PLANS_KEPT = 64;

/**
 * How many built layers the cache keeps; the least recently used ones go first. A build
 * with more outputs (a matrix of twelve targets) keeps all of its own (`putLayer`'s `keep`).
 */
export const CACHED_LAYERS_KEPT = 8;
/** Lineages whose latest layer is recorded (`layers-v1/latest/`). */
export const CACHED_LINEAGES_KEPT = 64;

/** A built layer zip in the cache and what its build reported (opaque to the cache). */
export interface CachedLayer {
  path: string;
  size: number;
  /** The sha256 of the zip's bytes, recorded when it was stored: copies are checked against it. */
  sha256: string;
  report: unknown;
}

/** What identifies a local file's content well enough to reuse its hash. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
}

export type CacheBucket = keyof typeof CACHE_BUCKETS;

/**
 * The default cache folder: `PYLAYER_CACHE_DIR` when set; otherwise
 * `$XDG_CACHE_HOME/pylayer` or `~/.cache/pylayer` on Linux and other Unixes,
 * `~/Library/Caches/pylayer` on macOS, `%LOCALAPPDATA%\pylayer\Cache` on Windows.
 */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  homedir: string,
): string {
  const explicit = env.PYLAYER_CACHE_DIR;
  if (explicit !== undefined && explicit !== "") return explicit;
  if (platform === "win32") {
    const localAppData = env.LOCALAPPDATA;
    const base =
      localAppData !== undefined && localAppData !== ""
        ? localAppData
        : win32.join(homedir, "AppData", "Local");
    return win32.join(base, "pylayer", "Cache");
  }
  if (platform === "darwin") return posix.join(homedir, "Library", "Caches", "pylayer");
  const xdgCacheHome = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdgCacheHome?.startsWith("/")) {
    return posix.join(xdgCacheHome, "pylayer");
  }
  return posix.join(homedir, ".cache", "pylayer");
}

/** An index page as fetched, for revalidation with `If-None-Match` / `If-Modified-Since`. */
export interface CachedPage {
  /** The credential-free URL that was requested (the cache key). */
  url: string;
  /** The credential-free URL the body came from after redirects (base for relative links). */
  finalUrl: string;
  /** 404 is stored too, so that offline runs know an index did not have the project. */
  status: 200 | 404;
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: string | undefined;
  body: string;
  /** ISO date of the fetch or of the last successful revalidation. */
  storedAt: string;
  /**
   * How long after `storedAt` the page may be used without asking the server, from the
   * response's `Cache-Control: max-age` (0 or absent: revalidate every time).
   */
  maxAgeSeconds?: number;
}

export type MetadataKey = { sha256: string } | { url: string };

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** sha256 of a file, read in blocks. */
export async function sha256File(path: string): Promise<string> {
  return (await hashFile(path)).digest.toString("hex");
}

/** `<name>.<pid>-<random>`: a cache temporary file, named so that `prepare` knows its writer. */
function temporaryName(hint: string): string {
  return `${hint.replace(/[^A-Za-z0-9._-]/g, "_")}.${process.pid}-${randomBytes(6).toString("hex")}`;
}

const TEMPORARY_NAME = /\.(\d+)-[0-9a-f]{12}$/;

function isErrorCode(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    "code" in error &&
    codes.includes(String((error as { code: unknown }).code))
  );
}

/**
 * Moves `source` to `destination` atomically. When another writer put the same
 * content-addressed entry in place first and the platform refuses to replace it
 * (Windows), the existing entry is kept and `source` is removed. Synchronous, like every
 * small file-system call of the cache (see `readTextOrNull`).
 */
function moveIntoPlace(source: string, destination: string): void {
  try {
    renameSync(source, destination);
  } catch (error) {
    if (isErrorCode(error, "EPERM", "EEXIST", "EACCES", "EBUSY")) {
      const existing = statOrNull(destination);
      if (existing !== null) {
        rmSync(source, { force: true });
        return;
      }
    }
    rmSync(source, { force: true });
    throw error;
  }
}

/** Marks a cache entry as used now (its modification time); a failure is ignored. */
function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // An entry another build removed meanwhile is simply not marked.
  }
}

function readdirOrEmpty(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}

/**
 * A cache entry's text, or null when there is none. Read synchronously: entries are small
 * and a build reads hundreds of them one after another, where a read through libuv's pool
 * costs a round trip between threads (about 260 µs for a 2 KB entry on a 2-vCPU VM,
 * against 11 µs synchronously).
 */
function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if (isErrorCode(error, "ENOENT", "ENOTDIR", "EISDIR")) return null;
    throw error;
  }
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === "string";
}

function parsePage(text: string, url: string): CachedPage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const page = value as Record<string, unknown>;
  if (page.url !== url) return null;
  if (page.status !== 200 && page.status !== 404) return null;
  if (typeof page.finalUrl !== "string" || typeof page.body !== "string") return null;
  if (typeof page.storedAt !== "string") return null;
  if (page.maxAgeSeconds !== undefined && typeof page.maxAgeSeconds !== "number") return null;
  if (
    !optionalString(page.contentType) ||
    !optionalString(page.etag) ||
    !optionalString(page.lastModified)
  ) {
    return null;
  }
  return {
    url,
    finalUrl: page.finalUrl,
    status: page.status,
    contentType: page.contentType,
    etag: page.etag,
    lastModified: page.lastModified,
    body: page.body,
    storedAt: page.storedAt,
    ...(page.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: page.maxAgeSeconds }),
  };
}

function metadataKeyString(key: MetadataKey): string {
  return "sha256" in key ? `sha256:${key.sha256}` : `url:${key.url}`;
}

export class Cache {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  bucketPath(bucket: CacheBucket): string {
    return join(this.root, CACHE_BUCKETS[bucket]);
  }

  /**
   * Makes sure the cache can be written (creates the root, writes and removes a probe
   * file) and removes the temporary files left by processes that are gone. Throws the
   * file-system error when the cache folder cannot be written.
   */
  async prepare(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = join(this.root, `.probe.${process.pid}-${randomBytes(6).toString("hex")}`);
    await writeFile(probe, "");
    await rm(probe, { force: true });
    await Promise.all(
      Object.keys(CACHE_BUCKETS).map(async (bucket) => {
        const folder = join(this.bucketPath(bucket as CacheBucket), ".tmp");
        const names = await readdir(folder).catch(() => [] as string[]);
        for (const name of names) {
          const pid = TEMPORARY_NAME.exec(name)?.[1];
          if (pid !== undefined && !processIsAlive(Number(pid))) {
            await rm(join(folder, name), { force: true }).catch(() => undefined);
          }
        }
      }),
    );
  }

  /**
   * Writes `data` to `path` (inside `bucket`) through the bucket's `.tmp` folder and a
   * rename, with synchronous calls: entries are small, and a build writes hundreds of them
   * (through libuv's pool, each of the five calls cost a round trip between threads).
   */
  private writeEntry(bucket: CacheBucket, path: string, data: string): void {
    const temporary = this.temporaryPathSync(bucket, "entry");
    try {
      writeFileSync(temporary, data);
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    moveIntoPlace(temporary, path);
  }

  /** Where the wheel with this sha256 and filename lives (whether or not it exists). */
  wheelPath(sha256: string, filename: string): string {
    assertSha256(sha256);
    assertPlainFilename(filename);
    return join(this.bucketPath("wheels"), "sha256", sha256.slice(0, 2), sha256, filename);
  }

  /**
   * The cached wheel's path, or null. With `verify` (the default) the file is hashed
   * and a file that does not match its name (damaged or truncated on disk) is deleted,
   * reported to `onCorrupt` and read as a miss.
   */
  async getWheel(
    sha256: string,
    filename: string,
    options: { verify?: boolean; onCorrupt?: (path: string, actualSha256: string) => void } = {},
  ): Promise<string | null> {
    const path = this.wheelPath(sha256.toLowerCase(), filename);
    try {
      const info = statSync(path);
      if (!info.isFile()) return null;
      if (options.verify ?? true) {
        const actual = await sha256File(path);
        if (actual !== sha256.toLowerCase()) {
          await unlink(path).catch(() => undefined);
          options.onCorrupt?.(path, actual);
          return null;
        }
      }
      return path;
    } catch (error) {
      if (isErrorCode(error, "ENOENT", "ENOTDIR")) return null;
      throw error;
    }
  }

  /**
   * A fresh path to stream a download into, on the cache's file system, for
   * `putWheel` to rename into place afterwards. The caller deletes it on failure.
   */
  async temporaryPath(bucket: CacheBucket, hint = "download"): Promise<string> {
    return this.temporaryPathSync(bucket, hint);
  }

  private temporaryPathSync(bucket: CacheBucket, hint: string): string {
    const folder = join(this.bucketPath(bucket), ".tmp");
    mkdirSync(folder, { recursive: true });
    return join(folder, temporaryName(hint));
  }

  /**
   * Moves `sourcePath` (already verified to hash to `sha256`, on the same file
   * system, e.g. from `temporaryPath`) into the cache. Returns the final path.
   */
  async putWheel(sourcePath: string, sha256: string, filename: string): Promise<string> {
    const destination = this.wheelPath(sha256.toLowerCase(), filename);
    mkdirSync(dirname(destination), { recursive: true });
    moveIntoPlace(sourcePath, destination);
    return destination;
  }

  /** Stores wheel bytes, refusing (with an error, writing nothing) bytes whose sha256 is not `sha256`. */
  async putWheelBytes(bytes: Uint8Array, sha256: string, filename: string): Promise<string> {
    const actual = sha256Hex(bytes);
    const path =
      actual === sha256.toLowerCase() ? await this.putWheelStream([bytes], sha256, filename) : null;
    if (path === null) {
      throw new Error(`refusing to cache ${filename}: sha256 ${actual} is not ${sha256}`);
    }
    return path;
  }

  /**
   * Stores a wheel that arrives as a stream, hashing it while it is written to a
   * temporary file: the final path, or null (nothing kept) when its sha256 is not `sha256`.
   * Chunks are written about 1 MiB at a time (`BatchedWriter`), so each must stay unchanged
   * until the call returns (a stream's chunks, or a body's, are fresh buffers).
   */
  async putWheelStream(
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    sha256: string,
    filename: string,
  ): Promise<string | null> {
    const expected = sha256.toLowerCase();
    const temporary = await this.temporaryPath("wheels", filename);
    try {
      const hash = createHash("sha256");
      const handle = await openFile(temporary, "w");
      const writer = new BatchedWriter(handle);
      try {
        for await (const chunk of chunks) {
          hash.update(chunk);
          await writer.add(chunk);
        }
        await writer.finish();
      } finally {
        await writer.settle();
        await handle.close();
      }
      if (hash.digest("hex") !== expected) return null;
      return await this.putWheel(temporary, expected, filename);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  private pagePath(url: string): string {
    const key = sha256Hex(url);
    return join(this.bucketPath("simple"), key.slice(0, 2), `${key}.json`);
  }

  /** The cached page for this credential-free URL, or null (missing or unreadable). */
  async getPage(url: string): Promise<CachedPage | null> {
    const text = readTextOrNull(this.pagePath(url));
    return text === null ? null : parsePage(text, url);
  }

  async putPage(page: CachedPage): Promise<void> {
    await this.writeEntry("simple", this.pagePath(page.url), JSON.stringify(page));
  }

  private metadataPath(key: MetadataKey): string {
    if ("sha256" in key) {
      const sha256 = key.sha256.toLowerCase();
      assertSha256(sha256);
      return join(this.bucketPath("metadata"), "sha256", sha256.slice(0, 2), `${sha256}.json`);
    }
    const hashed = sha256Hex(key.url);
    return join(this.bucketPath("metadata"), "url", hashed.slice(0, 2), `${hashed}.json`);
  }

  /** The METADATA text stored under this key, or null (missing or unreadable). */
  async getMetadata(key: MetadataKey): Promise<string | null> {
    const text = readTextOrNull(this.metadataPath(key));
    if (text === null) return null;
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      if (value.key !== metadataKeyString(key)) return null;
      if (typeof value.metadata !== "string" || typeof value.sha256 !== "string") return null;
      // The stored checksum catches an entry damaged after it was written.
      if (sha256Hex(value.metadata) !== value.sha256) return null;
      return value.metadata;
    } catch {
      return null;
    }
  }

  async putMetadata(key: MetadataKey, metadata: string): Promise<void> {
    const entry = { key: metadataKeyString(key), sha256: sha256Hex(metadata), metadata };
    await this.writeEntry("metadata", this.metadataPath(key), JSON.stringify(entry));
  }

  private layerPaths(key: string): { zip: string; info: string } {
    assertSha256(key);
    const folder = this.bucketPath("layers");
    return { zip: join(folder, `${key}.zip`), info: join(folder, `${key}.json`) };
  }

  private latestLayerPath(lineage: string): string {
    assertSha256(lineage);
    return join(this.bucketPath("layers"), "latest", `${lineage}.json`);
  }

  /**
   * What was recorded with the layer written last for `lineage` (a digest chosen by the
   * caller; opaque to the cache: src/pipeline reads it), or null. Checksummed like check
   * results: a damaged entry is deleted, reported to `onCorrupt` and a miss.
   */
  async getLatestLayer(
    lineage: string,
    options: { onCorrupt?: (path: string, reason: string) => void } = {},
  ): Promise<unknown | null> {
    return this.readChecksummed(this.latestLayerPath(lineage), lineage, options);
  }

  /** Records `value` for the layer written last for `lineage`; the least recently written lineages go. */
  async putLatestLayer(lineage: string, value: unknown): Promise<void> {
    const path = this.latestLayerPath(lineage);
    await this.writeChecksummed("layers", path, lineage, value);
    await pruneByUse(dirname(path), CACHED_LINEAGES_KEPT);
  }

  /**
   * The layer zip stored under `key` (a sha256 of everything that decides the zip's
   * bytes), or null. The entry's size is checked against its record here (a damaged or
   * truncated zip of another size is evicted and reported to `onCorrupt`); its bytes are
   * checked against the recorded sha256 by whoever copies it (`evictLayer` when they
   * differ). A hit marks the entry as recently used.
   */
  async getLayer(
    key: string,
    options: { onCorrupt?: (path: string, reason: string) => void } = {},
  ): Promise<CachedLayer | null> {
    const paths = this.layerPaths(key);
    const text = readTextOrNull(paths.info);
    if (text === null) return null;
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      if (value.key !== key || typeof value.size !== "number") return null;
      if (typeof value.sha256 !== "string" || !SHA256_HEX.test(value.sha256)) return null;
      const info = statSync(paths.zip);
      if (!info.isFile()) return null;
      if (info.size !== value.size) {
        await this.evictLayer(key);
        options.onCorrupt?.(paths.zip, `${info.size} bytes, not the ${value.size} recorded`);
        return null;
      }
      touch(paths.info);
      return { path: paths.zip, size: value.size, sha256: value.sha256, report: value.report };
    } catch (error) {
      if (error instanceof SyntaxError || isErrorCode(error, "ENOENT", "ENOTDIR")) return null;
      throw error;
    }
  }

  /** Deletes the layer stored under `key` (its record first, so no record outlives its zip). */
  async evictLayer(key: string): Promise<void> {
    const paths = this.layerPaths(key);
    await rm(paths.info, { force: true });
    await rm(paths.zip, { force: true });
  }

  /**
   * Stores the finished zip at `sourcePath` (whose bytes hash to `sha256`) in the cache
   * under `key` with the report to hand back on a hit, then drops the least recently used
   * layers beyond `keep` (CACHED_LAYERS_KEPT; a build passes at least its own number of
   * outputs, whose layers are the most recently used, so that none of them goes). The zip
   * is hard-linked when the cache is on the same file system (the caller wrote it through
   * a temporary file and a rename, so no later build rewrites those bytes in place), else
   * copied, and a copy is hashed before it is renamed into place. The record is written
   * after the zip, so a record always has its zip; a hit is hashed again by whoever copies
   * it out (see `getLayer`), so a linked zip changed through its other name is evicted
   * then, never used.
   */
  async putLayer(
    key: string,
    sourcePath: string,
    size: number,
    sha256: string,
    report: unknown,
    keep = CACHED_LAYERS_KEPT,
  ): Promise<void> {
    const paths = this.layerPaths(key);
    mkdirSync(dirname(paths.zip), { recursive: true });
    const temporary = this.temporaryPathSync("layers", `${key}.zip`);
    try {
      let linked = true;
      try {
        linkSync(sourcePath, temporary);
      } catch {
        linked = false;
      }
      if (!linked) {
        await copyFile(sourcePath, temporary, constants.COPYFILE_FICLONE);
        const actual = await sha256File(temporary);
        if (actual !== sha256) {
          throw new Error(`refusing to cache ${sourcePath}: sha256 ${actual} is not ${sha256}`);
        }
      }
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    moveIntoPlace(temporary, paths.zip);
    this.writeEntry("layers", paths.info, JSON.stringify({ key, size, sha256, report }));
    await this.pruneLayers(keep);
  }

  /** Keeps the `keep` most recently used layers and deletes the others. */
  async pruneLayers(keep: number): Promise<void> {
    for (const name of leastRecentlyUsed(this.bucketPath("layers"), keep)) {
      await this.evictLayer(name.slice(0, 64));
    }
  }

  private planPath(key: string): string {
    assertSha256(key);
    return join(this.bucketPath("plans"), `${key}.json`);
  }

  /** The resolution stored under `key` (opaque to the cache), or null; a hit marks it used. */
  async getPlan(key: string): Promise<unknown | null> {
    const path = this.planPath(key);
    const text = readTextOrNull(path);
    if (text === null) return null;
    try {
      const value = JSON.parse(text) as { key?: unknown; plan?: unknown };
      if (value.key !== key || value.plan === undefined) return null;
      touch(path);
      return value.plan;
    } catch {
      return null;
    }
  }

  /** Stores a resolution under `key`, keeping the CACHED_PLANS_KEPT most recently used. */
  async putPlan(key: string, plan: unknown): Promise<void> {
    await this.writeEntry("plans", this.planPath(key), JSON.stringify({ key, plan }));
    await pruneByUse(this.bucketPath("plans"), CACHED_PLANS_KEPT);
  }

  private checkPath(kind: CheckEntryKind, key: string): string {
    assertSha256(key);
    const folder = join(this.bucketPath("checks"), kind);
    return kind === "wheels"
      ? join(folder, key.slice(0, 2), `${key}.json`)
      : join(folder, `${key}.json`);
  }

  /**
   * The check result stored under `key` (opaque to the cache), or null. An entry that does
   * not parse, names another key or fails its checksum is deleted, reported to `onCorrupt`
   * and read as a miss. A hit of a zip's result marks it as recently used.
   */
  async getCheck(
    kind: CheckEntryKind,
    key: string,
    options: { onCorrupt?: (path: string, reason: string) => void } = {},
  ): Promise<unknown | null> {
    return this.readChecksummed(this.checkPath(kind, key), key, {
      ...options,
      touch: kind === "layers",
    });
  }

  /** Stores a check result under `key`; zips' results beyond CACHED_CHECKS_KEPT are pruned. */
  async putCheck(kind: CheckEntryKind, key: string, value: unknown): Promise<void> {
    await this.writeChecksummed("checks", this.checkPath(kind, key), key, value);
    if (kind === "layers") {
      await pruneByUse(join(this.bucketPath("checks"), "layers"), CACHED_CHECKS_KEPT);
    }
  }

  private installPath(key: string): string {
    assertSha256(key);
    return join(this.bucketPath("installs"), key.slice(0, 2), `${key}.json`);
  }

  /**
   * The install plan stored under `key` (opaque to the cache: src/wheel reads it), or
   * null. Like check results, an entry that does not parse, names another key or fails
   * its checksum is deleted, reported to `onCorrupt` and read as a miss.
   */
  async getInstall(
    key: string,
    options: { onCorrupt?: (path: string, reason: string) => void } = {},
  ): Promise<unknown | null> {
    return this.readChecksummed(this.installPath(key), key, options);
  }

  /** Deletes the install plan stored under `key` (one its reader refused). */
  async evictInstall(key: string): Promise<void> {
    await rm(this.installPath(key), { force: true });
  }

  async putInstall(key: string, value: unknown): Promise<void> {
    await this.writeChecksummed("installs", this.installPath(key), key, value);
  }

  /**
   * Reads a JSON entry written by `writeChecksummed`: `{ key, sha256, payload }` whose
   * payload (JSON text) hashes to `sha256`. A damaged entry is deleted, reported and a miss.
   */
  private async readChecksummed(
    path: string,
    key: string,
    options: { onCorrupt?: (path: string, reason: string) => void; touch?: boolean },
  ): Promise<unknown | null> {
    const text = readTextOrNull(path);
    if (text === null) return null;
    let reason: string | undefined;
    let value: unknown;
    try {
      const entry = JSON.parse(text) as Record<string, unknown>;
      if (entry.key !== key) reason = "it is stored under another key";
      else if (typeof entry.payload !== "string" || typeof entry.sha256 !== "string") {
        reason = "it is incomplete";
      } else if (sha256Hex(entry.payload) !== entry.sha256) {
        reason = "its checksum does not match";
      } else {
        value = JSON.parse(entry.payload);
      }
    } catch {
      reason = "it is not valid JSON";
    }
    if (reason !== undefined) {
      await rm(path, { force: true });
      options.onCorrupt?.(path, reason);
      return null;
    }
    if (options.touch) touch(path);
    return value;
  }

  private async writeChecksummed(
    bucket: CacheBucket,
    path: string,
    key: string,
    value: unknown,
  ): Promise<void> {
    const payload = JSON.stringify(value);
    await this.writeEntry(
      bucket,
      path,
      JSON.stringify({ key, sha256: sha256Hex(payload), payload }),
    );
  }

  private localHashPath(path: string): string {
    const hashed = sha256Hex(path);
    return join(this.bucketPath("local"), hashed.slice(0, 2), `${hashed}.json`);
  }

  /**
   * The sha256 recorded for a local file (a find-links or file:// index wheel), valid only
   * while its size, modification and change times, inode and device are unchanged (any
   * write changes the change time, which programs cannot set back).
   */
  async getLocalHash(path: string, identity: FileIdentity): Promise<string | null> {
    const text = readTextOrNull(this.localHashPath(path));
    if (text === null) return null;
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      const same =
        value.path === path &&
        value.size === identity.size &&
        value.mtimeMs === identity.mtimeMs &&
        value.ctimeMs === identity.ctimeMs &&
        value.ino === identity.ino &&
        value.dev === identity.dev;
      return same && typeof value.sha256 === "string" && SHA256_HEX.test(value.sha256)
        ? value.sha256
        : null;
    } catch {
      return null;
    }
  }

  async putLocalHash(path: string, identity: FileIdentity, sha256: string): Promise<void> {
    const { size, mtimeMs, ctimeMs, ino, dev } = identity;
    await this.writeEntry(
      "local",
      this.localHashPath(path),
      JSON.stringify({ path, size, mtimeMs, ctimeMs, ino, dev, sha256 }),
    );
  }
}

/** Keeps the `keep` most recently used `<64 hex>.json` entries of `folder` and deletes the others. */
async function pruneByUse(folder: string, keep: number): Promise<void> {
  for (const name of leastRecentlyUsed(folder, keep)) await rm(join(folder, name), { force: true });
}

/**
 * The `<64 hex>.json` entries of `folder` beyond the `keep` most recently used (by
 * modification time, which a hit sets; ties by name, so that pruning is deterministic).
 * Nothing is stat'ed while there are no more than `keep`.
 */
function leastRecentlyUsed(folder: string, keep: number): string[] {
  const names = readdirOrEmpty(folder).filter((name) => /^[0-9a-f]{64}\.json$/.test(name));
  if (names.length <= keep) return [];
  return names
    .map((name) => ({ name, used: statOrNull(join(folder, name))?.mtimeMs ?? 0 }))
    .sort((a, b) => b.used - a.used || a.name.localeCompare(b.name))
    .slice(keep)
    .map(({ name }) => name);
}

function assertSha256(sha256: string): void {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 hex digest: ${sha256}`);
}

function assertPlainFilename(filename: string): void {
  if (
    filename === "" ||
    filename === "." ||
    filename === ".." ||
    /[/\\\0]/.test(filename) ||
    filename.includes(":")
  ) {
    throw new Error(`not a plain file name: ${filename}`);
  }
}
