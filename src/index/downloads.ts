/**
 * Wheels as verified local files: a cached copy, hashed again before its bytes are read
 * (`DeferredWheel`); a download streamed to a temporary file while it is hashed and then
 * renamed into the cache (or a scratch folder when there is no cache); or a `file://`
 * wheel used in place after its hashes are checked (remembered by file identity in the
 * cache). Nothing that fails its size or hash check is kept.
 */
import { randomBytes } from "node:crypto";
import { rmSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fileSystemError, PylayerError, redactUrl } from "../errors.js";
import { forEachBlock, ImmediateWriter, statOrNull } from "../files.js";
import {
  type IndexContext,
  isHttpUrl,
  isMissing,
  offlineMiss,
  shared,
  stripFragment,
} from "./context.js";
import { readBody, stripCredentials } from "./http.js";
import { hashersFor, SUPPORTED_HASHES, sizeMismatch, verifyDigests } from "./integrity.js";
import type { DistributionFile } from "./types.js";

const PROGRESS_STEP_BYTES = 256 * 1024;

/**
 * A wheel on disk whose bytes may not have been hashed yet: `verified()` resolves once the
 * file at `path` is known to hash to `sha256` (at once for a download or a `file://` wheel,
 * which were hashed as they were read; by hashing a cached copy on the first call, which
 * evicts a damaged copy, says so and downloads it again to the same path). Whoever reads
 * the file's bytes awaits it first; a caller that never reads them does not pay for it.
 */
export interface DeferredWheel {
  path: string;
  sha256: string;
  verified: () => Promise<void>;
}

const ALREADY_VERIFIED = () => Promise.resolve();

export class WheelDownloader {
  private readonly downloads = new Map<string, Promise<DeferredWheel>>();
  private temporaryDirectory: Promise<string> | undefined;

  constructor(private readonly context: IndexContext) {}

  /**
   * A local path to the wheel with its hashes verified: a cached copy, or the file
   * itself for `file://` locations. Concurrent calls for one URL share one download.
   */
  async download(file: DistributionFile): Promise<{ path: string; sha256: string }> {
    const { path, sha256, verified } = await this.downloadDeferred(file);
    await verified();
    return { path, sha256 };
  }

  /** `download`, leaving a cached copy's hash to be checked when its bytes are read. */
  downloadDeferred(file: DistributionFile): Promise<DeferredWheel> {
    return shared(this.downloads, stripCredentials(file.url), () => this.fetchWheel(file));
  }

  /** Removes the temporary folder used for downloads when there is no cache. */
  async dispose(): Promise<void> {
    if (this.temporaryDirectory !== undefined) {
      const directory = await this.temporaryDirectory.catch(() => undefined);
      if (directory !== undefined) await rm(directory, { recursive: true, force: true });
      this.temporaryDirectory = undefined;
    }
  }

  private async fetchWheel(file: DistributionFile): Promise<DeferredWheel> {
    const { cache, emit } = this.context;
    if (!isHttpUrl(file.url)) {
      return { ...(await this.useLocalWheel(file)), verified: ALREADY_VERIFIED };
    }
    const expected = file.hashes.sha256?.toLowerCase();
    if (cache !== null && expected !== undefined) {
      // A cached wheel of the wrong size is removed and downloaded again at once; one of
      // the right size is hashed before its bytes are read (`verified`).
      const path = await cache.getWheel(expected, file.filename, { verify: false });
      const size = path === null ? 0 : statSync(path).size;
      if (path !== null && file.size !== undefined && file.size !== size) {
        rmSync(path, { force: true });
        this.sayDamaged(path, file.filename);
      } else if (path !== null) {
        emit({ type: "cache-hit", kind: "wheel", url: redactUrl(file.url) });
        emit({
          type: "download-done",
          filename: file.filename,
          bytes: size,
          sha256: expected,
          path,
          fromCache: true,
        });
        let verification: Promise<void> | undefined;
        const verified = () => {
          verification ??= this.verifyCached(file, path, expected);
          return verification;
        };
        return { path, sha256: expected, verified };
      }
    }
    return { ...(await this.downloadFresh(file)), verified: ALREADY_VERIFIED };
  }

  /**
   * Hashes a cached wheel; a copy damaged on disk is removed, said, and downloaded again
   * (to the same content-addressed path).
   */
  private async verifyCached(file: DistributionFile, path: string, sha256: string): Promise<void> {
    const intact = await this.context.cache!.getWheel(sha256, file.filename, {
      onCorrupt: (corrupt) => this.sayDamaged(corrupt, file.filename),
    });
    if (intact !== null) return;
    const fresh = await this.downloadFresh(file);
    if (fresh.path !== path) {
      throw new Error(`the download of ${file.filename} landed at ${fresh.path}, not ${path}`);
    }
  }

  private sayDamaged(path: string, filename: string): void {
    this.context.emit({
      type: "warning",
      message: `cached wheel ${path} does not match its sha256 (damaged or truncated); removed it, downloading ${filename} again`,
    });
  }

  private async downloadFresh(file: DistributionFile): Promise<{ path: string; sha256: string }> {
    const { cache, emit, limits } = this.context;
    const label = redactUrl(file.url);
    if (this.context.offline) throw offlineMiss(`The wheel ${file.filename}`);

    const temporary =
      cache === null
        ? join(await this.scratchDirectory(), `${randomBytes(8).toString("hex")}.part`)
        : await cache.temporaryPath("wheels", file.filename);
    try {
      const http = await this.context.http();
      const { bytes, digests } = await http.request(
        {
          url: file.url,
          headers: { "Accept-Encoding": "identity" },
          acceptStatuses: [200],
          // Each chunk is hashed and copied into the writer's blocks at once.
          lentChunks: true,
        },
        async (response, context) => {
          const declared = Number(response.headers.get("content-length") ?? Number.NaN);
          const totalBytes = Number.isFinite(declared) ? declared : file.size;
          emit({ type: "download-start", filename: file.filename, url: label, totalBytes });
          const hashers = hashersFor(file);
          // A local write failure (full disk, read-only cache) is said as such: the
          // request's error handling would otherwise report it as a network failure.
          const local = (error: unknown) => fileSystemError(error, temporary) ?? error;
          let writer: ImmediateWriter;
          try {
            writer = new ImmediateWriter(temporary);
          } catch (error) {
            throw local(error);
          }
          let bytesDone = 0;
          let reported = 0;
          try {
            // Each chunk is lent (`lentChunks`): hashed and written before this returns.
            const onChunk = (chunk: Uint8Array) => {
              bytesDone += chunk.length;
              // More than the index announced is refused as it arrives, not after.
              if (file.size !== undefined && bytesDone > file.size) {
                void response.body?.cancel().catch(() => undefined);
                throw sizeMismatch(file, file.size, bytesDone, true);
              }
              for (const hasher of hashers.values()) hasher.update(chunk);
              try {
                writer.add(chunk);
              } catch (error) {
                throw local(error);
              }
              if (bytesDone - reported >= PROGRESS_STEP_BYTES) {
                reported = bytesDone;
                emit({
                  type: "download-progress",
                  filename: file.filename,
                  bytesDone,
                  totalBytes,
                });
              }
            };
            await readBody(response, context, {
              limit: { bytes: limits.fileBytes, kind: "fileBytes" },
              onChunk,
            });
          } finally {
            writer.close();
          }
          emit({ type: "download-progress", filename: file.filename, bytesDone, totalBytes });
          const digests = new Map(
            [...hashers].map(([name, hasher]) => [name, hasher.digest("hex")]),
          );
          return { bytes: bytesDone, digests };
        },
      );
      if (file.size !== undefined && bytes !== file.size)
        throw sizeMismatch(file, file.size, bytes);
      verifyDigests(file, digests);
      const sha256 = digests.get("sha256")!;
      const path =
        cache === null
          ? await this.moveToScratch(temporary, sha256, file.filename)
          : await cache.putWheel(temporary, sha256, file.filename);
      emit({
        type: "download-done",
        filename: file.filename,
        bytes,
        sha256,
        path,
        fromCache: false,
      });
      return { path, sha256 };
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  /** A `file://` wheel is used in place, after its hashes are checked. */
  private async useLocalWheel(file: DistributionFile): Promise<{ path: string; sha256: string }> {
    const { cache, emit } = this.context;
    if (!file.url.startsWith("file:")) {
      throw new PylayerError(
        "unsupported-url",
        `${redactUrl(file.url)} is not an http(s) or file URL.`,
      );
    }
    const path = fileURLToPath(stripFragment(file.url));
    const known = await this.knownLocalHash(path, file);
    if (known !== null) return known;
    const hashers = hashersFor(file);
    let bytes = 0;
    try {
      bytes = await forEachBlock(path, (block) => {
        for (const hasher of hashers.values()) hasher.update(block);
      });
    } catch (error) {
      if (!isMissing(error)) throw error;
      throw new PylayerError(
        "file-not-found",
        `${file.filename} is listed but ${path} does not exist.`,
        {
          hint: "The local index or find-links folder changed; check its contents.",
        },
      );
    }
    const digests = new Map([...hashers].map(([name, hasher]) => [name, hasher.digest("hex")]));
    if (file.size !== undefined && bytes !== file.size) throw sizeMismatch(file, file.size, bytes);
    verifyDigests(file, digests);
    const sha256 = digests.get("sha256")!;
    if (cache !== null) {
      const info = statOrNull(path);
      if (info !== null && info.size === bytes) await cache.putLocalHash(path, info, sha256);
    }
    emit({
      type: "download-done",
      filename: file.filename,
      bytes,
      sha256,
      path,
      fromCache: true,
    });
    return { path, sha256 };
  }

  /**
   * The sha256 recorded for a local file whose identity (size, times, inode) has not
   * changed since it was hashed, when it satisfies the file's announced hashes.
   */
  private async knownLocalHash(
    path: string,
    file: DistributionFile,
  ): Promise<{ path: string; sha256: string } | null> {
    const { cache } = this.context;
    if (cache === null) return null;
    const info = statOrNull(path);
    if (info === null) return null;
    const sha256 = await cache.getLocalHash(path, info);
    if (sha256 === null) return null;
    if (file.size !== undefined && file.size !== info.size) return null;
    const announced = Object.entries(file.hashes).filter(([algorithm]) =>
      SUPPORTED_HASHES.has(algorithm),
    );
    if (
      announced.some(
        ([algorithm, digest]) => algorithm !== "sha256" || digest.toLowerCase() !== sha256,
      )
    ) {
      return null;
    }
    this.context.emit({
      type: "download-done",
      filename: file.filename,
      bytes: info.size,
      sha256,
      path,
      fromCache: true,
    });
    return { path, sha256 };
  }

  private scratchDirectory(): Promise<string> {
    this.temporaryDirectory ??= mkdtemp(join(tmpdir(), "pylayer-downloads-"));
    return this.temporaryDirectory;
  }

  private async moveToScratch(source: string, sha256: string, filename: string): Promise<string> {
    const folder = join(await this.scratchDirectory(), sha256);
    await mkdir(folder, { recursive: true });
    const destination = join(folder, filename);
    await rename(source, destination);
    return destination;
  }
}
