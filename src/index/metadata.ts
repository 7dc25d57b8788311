/**
 * A wheel's METADATA as cheaply as the server allows: the metadata cache, then the PEP
 * 658/714 `.metadata` file (hash-checked), then HTTP Range requests for the zip's tail
 * and the METADATA entry (remembering origins that do not do ranges), then the local
 * file read in place, and last the downloaded wheel. Reading METADATA out of zip bytes
 * is wheel-metadata.ts's job.
 */
import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { MetadataKey } from "../cache/index.js";
import { PylayerError, redactUrl } from "../errors.js";
import {
  type IndexContext,
  isHttpUrl,
  isMissing,
  offlineMiss,
  shared,
  stripFragment,
} from "./context.js";
import { concatChunks, readBody, stripCredentials } from "./http.js";
import { sizeMismatch, verifyBytes } from "./integrity.js";
import { responseTooLarge } from "./limits.js";
import type { DistributionFile } from "./types.js";
import {
  type MetadataLimit,
  openFileRangeReader,
  type RangeReader,
  readWheelMetadata,
  withKnownTail,
  ZIP_TAIL_LENGTH,
} from "./wheel-metadata.js";

/** A verified local copy of a wheel (see `WheelDownloader.download`). */
export type Download = (file: DistributionFile) => Promise<{ path: string; sha256: string }>;

export class MetadataLoader {
  private readonly loaded = new Map<string, Promise<string>>();
  /** Origins that answered a Range request with the whole file. */
  private readonly noRangeOrigins = new Set<string>();

  /** `download` is the last resort: the whole wheel, when nothing cheaper works. */
  constructor(
    private readonly context: IndexContext,
    private readonly download: Download,
  ) {}

  /** METADATA of a wheel; concurrent calls for one URL share one load. */
  get(file: DistributionFile): Promise<string> {
    return shared(this.loaded, stripCredentials(file.url), () => this.load(file));
  }

  private async load(file: DistributionFile): Promise<string> {
    const { cache, emit } = this.context;
    const label = redactUrl(file.url);
    const http = isHttpUrl(file.url);
    const sha256 = file.hashes.sha256;
    const key: MetadataKey | null =
      sha256 !== undefined ? { sha256 } : http ? { url: stripCredentials(file.url) } : null;
    if (cache !== null && key !== null && (http || sha256 !== undefined)) {
      const cached = await cache.getMetadata(key);
      if (cached !== null) {
        emit({ type: "cache-hit", kind: "metadata", url: label });
        emit({ type: "metadata", filename: file.filename, via: "cache" });
        return cached;
      }
    }
    if (this.context.offline && http) throw offlineMiss(`METADATA of ${file.filename}`);
    const store = async (text: string, storeKey: MetadataKey | null) => {
      // Local wheels are cached only under an announced sha256: the key is the content,
      // and installing the wheel later verifies that the file still has it.
      if (cache !== null && storeKey !== null && (http || "sha256" in storeKey))
        await cache.putMetadata(storeKey, text);
      return text;
    };
    if (file.coreMetadata !== false) {
      const text = await this.fetchCoreMetadata(file, file.coreMetadata.hashes);
      if (text !== null) {
        emit({ type: "metadata", filename: file.filename, via: "pep658" });
        return store(text, key);
      }
    }
    if (http && !this.noRangeOrigins.has(new URL(file.url).origin)) {
      const text = await this.readMetadataByRanges(file);
      if (text !== null) {
        emit({ type: "metadata", filename: file.filename, via: "range" });
        return store(text, key);
      }
    }
    if (!http && file.url.startsWith("file:")) {
      // A local wheel's METADATA is read in place; the whole-file hash is checked when
      // (and if) the wheel is installed, so resolution does not hash every candidate.
      const reader = await openFileRangeReader(fileURLToPath(stripFragment(file.url))).catch(
        (error: unknown) => {
          if (isMissing(error)) {
            throw new PylayerError("file-not-found", `${file.filename} is listed but missing.`, {
              hint: "The local index or find-links folder changed; check its contents.",
            });
          }
          throw error;
        },
      );
      try {
        const text = await readWheelMetadata(reader, file.filename, this.metadataLimit(file));
        emit({ type: "metadata", filename: file.filename, via: "wheel" });
        return store(text, key);
      } finally {
        await reader.close();
      }
    }
    const downloaded = await this.download(file);
    const reader = await openFileRangeReader(downloaded.path);
    try {
      const text = await readWheelMetadata(reader, file.filename, this.metadataLimit(file));
      emit({ type: "metadata", filename: file.filename, via: "wheel" });
      return store(text, key ?? { sha256: downloaded.sha256 });
    } finally {
      await reader.close();
    }
  }

  /** The bound on the METADATA entry of `file`'s zip, with the error naming its URL. */
  private metadataLimit(file: DistributionFile): MetadataLimit {
    const bytes = this.context.limits.metadataBytes;
    return { bytes, error: () => responseTooLarge(redactUrl(file.url), "metadataBytes", bytes) };
  }

  /** The PEP 658 `.metadata` file, verified against its announced hashes; null if absent. */
  private async fetchCoreMetadata(
    file: DistributionFile,
    hashes: Record<string, string>,
  ): Promise<string | null> {
    const url = `${stripFragment(file.url)}.metadata`;
    let bytes: Uint8Array | null;
    if (isHttpUrl(url)) {
      const http = await this.context.http();
      bytes = await http.request({ url, acceptStatuses: [200, 404] }, async (response, context) => {
        if (response.status === 404) {
          await response.body?.cancel().catch(() => undefined);
          return null;
        }
        return concatChunks(
          await readBody(response, context, {
            limit: { bytes: this.context.limits.metadataBytes, kind: "metadataBytes" },
          }),
        );
      });
    } else {
      try {
        const path = fileURLToPath(url);
        if ((await stat(path)).size > this.context.limits.metadataBytes) {
          throw responseTooLarge(
            redactUrl(url),
            "metadataBytes",
            this.context.limits.metadataBytes,
          );
        }
        bytes = await readFile(path);
      } catch (error) {
        if (!isMissing(error)) throw error;
        bytes = null;
      }
    }
    if (bytes === null) return null;
    verifyBytes(bytes, hashes, `${file.filename}.metadata`, url);
    return Buffer.from(bytes).toString("utf8");
  }

  /**
   * METADATA through HTTP Range requests: the zip tail, then (if needed) the central
   * directory and the METADATA entry. null when the server does not do ranges.
   */
  private async readMetadataByRanges(file: DistributionFile): Promise<string | null> {
    const http = await this.context.http();
    const { limits } = this.context;
    const origin = new URL(file.url).origin;
    const first = await http.request(
      {
        url: file.url,
        headers: { Range: `bytes=-${ZIP_TAIL_LENGTH}`, "Accept-Encoding": "identity" },
        acceptStatuses: [200, 206, 416],
      },
      async (response, context) => {
        const total = /\/(\d+)\s*$/.exec(response.headers.get("content-range") ?? "")?.[1];
        if (response.status !== 206 || total === undefined) {
          await response.body?.cancel().catch(() => undefined);
          return null;
        }
        const tail = await readBody(response, context, {
          limit: { bytes: ZIP_TAIL_LENGTH, kind: "range" },
        });
        return { size: Number(total), tail: concatChunks(tail) };
      },
    );
    if (first === null) {
      this.noRangeOrigins.add(origin);
      return null;
    }
    if (file.size !== undefined && first.size !== file.size) {
      throw sizeMismatch(file, file.size, first.size);
    }
    let rangesRefused = false;
    const reader: RangeReader = {
      size: first.size,
      read: async (offset, length) => {
        if (length === 0) return new Uint8Array(0);
        // The zip directory's size comes from the server: a claim of gigabytes is refused
        // before anything is asked for.
        if (length > limits.pageBytes) {
          throw responseTooLarge(redactUrl(file.url), "pageBytes", limits.pageBytes);
        }
        const bytes = await http.request(
          {
            url: file.url,
            headers: {
              Range: `bytes=${offset}-${offset + length - 1}`,
              "Accept-Encoding": "identity",
            },
            acceptStatuses: [200, 206],
          },
          async (response, context) => {
            if (response.status !== 206) {
              await response.body?.cancel().catch(() => undefined);
              return null;
            }
            return concatChunks(
              await readBody(response, context, { limit: { bytes: length, kind: "range" } }),
            );
          },
        );
        if (bytes === null || bytes.length !== length) {
          rangesRefused = true;
          throw new RangesRefused();
        }
        return bytes;
      },
    };
    try {
      return await readWheelMetadata(
        withKnownTail(reader, first.tail),
        file.filename,
        this.metadataLimit(file),
      );
    } catch (error) {
      if (rangesRefused) {
        this.noRangeOrigins.add(origin);
        return null;
      }
      throw error;
    }
  }
}

class RangesRefused extends Error {
  constructor() {
    super("the server stopped answering Range requests");
  }
}
