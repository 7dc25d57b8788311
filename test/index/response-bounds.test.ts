/**
 * Issue 19, points 8 and 9: bounded responses and the progress deadline, against a
 * loopback index that injects the faults (a gzip bomb, a huge page, a huge METADATA, a
 * server that drips one byte at a time). Limits and timeouts are made small through the
 * client's options so that each case runs in about a second; the gzip bomb uses the
 * default limit.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Cache } from "../../src/cache/index.js";
import { PylayerError } from "../../src/errors.js";
import { IndexClient, type IndexClientOptions } from "../../src/index/client.js";
import { DEFAULT_RESPONSE_LIMITS, responseLimitsFromEnv } from "../../src/index/limits.js";
import {
  type FaultAction,
  type IndexServer,
  type IndexServerOptions,
  type RecordedRequest,
  type StreamFault,
  startIndexServer,
  writeFileIndex,
} from "../helpers/index-server.js";
import { buildWheel } from "../helpers/wheels.js";

const MIB = 1024 * 1024;
const alpha = buildWheel({ name: "alpha", version: "1.0" });
const verbose = buildWheel({
  name: "verbose",
  version: "1.0",
  metadataLines: ["", "x".repeat(64 * 1024)],
});

let root: string;
const servers: IndexServer[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pylayer-bounds-test-"));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(root, { recursive: true, force: true });
});

async function serve(
  fault: (request: RecordedRequest) => FaultAction | undefined,
  options: IndexServerOptions = {},
  wheels = [alpha, verbose],
) {
  const server = await startIndexServer(wheels, { ...options, hooks: { onRequest: fault } });
  servers.push(server);
  return server;
}

function client(server: IndexServer, options: Partial<IndexClientOptions> = {}) {
  const cache = new Cache(join(root, "cache"));
  const index = new IndexClient({
    settings: {
      indexUrl: server.url,
      extraIndexUrls: [],
      findLinks: [],
      noIndex: false,
      origin: {},
    },
    cache,
    netrcPath: null,
    retries: 2,
    retryBaseDelayMs: 1,
    sleep: async () => undefined,
    ...options,
  });
  return { index, cache };
}

function stream(spec: StreamFault["stream"]): StreamFault {
  return { stream: spec, sent: { bytes: 0 } };
}

async function failure(promise: Promise<unknown>): Promise<PylayerError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PylayerError);
  return error as PylayerError;
}

/** Every file in the cache's `simple-v1` bucket (cached pages). */
async function cachedPages(): Promise<string[]> {
  const bucket = join(root, "cache", "simple-v1");
  const entries = await readdir(bucket, { recursive: true }).catch(() => []);
  return entries.filter((entry) => entry.endsWith(".json"));
}

describe("bounded responses (issue 19, point 8)", () => {
  it("stops a gzip bomb page at the default 64 MiB decoded, reads little of it, and caches nothing", async () => {
    // 16 GiB of zeros as 16,384 concatenated gzip members of 1 MiB (about 1 KiB each).
    const member = gzipSync(Buffer.alloc(MIB));
    const bomb = stream({
      headers: { "Content-Type": "text/html", "Content-Encoding": "gzip" },
      chunk: member,
      repeat: 16 * 1024,
    });
    const total = member.length * 16 * 1024;
    const server = await serve((request) => (request.path === "/simple/alpha/" ? bomb : undefined));
    const { index } = client(server);
    const error = await failure(index.getProject("alpha"));
    expect(error.code).toBe("response-too-large");
    expect(error.message).toContain(`${server.url}alpha/`);
    expect(error.message).toContain("64.0 MiB");
    expect(error.hint).toContain("PYLAYER_MAX_PAGE_BYTES");
    // The limit stops the decoding as bytes arrive: the client read a small part of the
    // 17 MB sent at most (what sockets buffer), never the whole bomb.
    expect(bomb.sent.bytes).toBeLessThan(total / 2);
    // Not retried (a hostile answer does not get better), and not cached.
    expect(server.requests.filter((request) => request.path === "/simple/alpha/")).toHaveLength(1);
    expect(await cachedPages()).toEqual([]);
  });

  it("stops a huge page without Content-Length at the limit, and caches nothing", async () => {
    const huge = stream({
      headers: { "Content-Type": "text/html" },
      chunk: Buffer.from(`<a href="x">${"y".repeat(1000)}</a>\n`),
      repeat: 100_000,
    });
    const server = await serve((request) => (request.path === "/simple/alpha/" ? huge : undefined));
    const { index } = client(server, { limits: { pageBytes: MIB } });
    const error = await failure(index.getProject("alpha"));
    expect(error.code).toBe("response-too-large");
    expect(error.message).toContain(`${server.url}alpha/ is larger than the 1.0 MiB allowed`);
    expect(huge.sent.bytes).toBeLessThan(huge.stream.chunk.length * 100_000);
    expect(await cachedPages()).toEqual([]);
  });

  it("refuses a page whose Content-Length is over the limit before reading it", async () => {
    const server = await serve((request) =>
      request.path === "/simple/alpha/"
        ? {
            status: 200,
            headers: { "Content-Type": "text/html", "Content-Length": String(2 * MIB) },
            body: "x".repeat(2 * MIB),
          }
        : undefined,
    );
    const { index } = client(server, { limits: { pageBytes: MIB } });
    const error = await failure(index.getProject("alpha"));
    expect(error.code).toBe("response-too-large");
    expect(await cachedPages()).toEqual([]);
  });

  it("applies the page limit to PEP 691 JSON pages too", async () => {
    const server = await serve(() => undefined, { format: "json" });
    const { index } = client(server, { limits: { pageBytes: 100 } });
    const error = await failure(index.getProject("alpha"));
    expect(error.code).toBe("response-too-large");
    expect(error.details).toMatchObject({ limitBytes: 100, setting: "PYLAYER_MAX_PAGE_BYTES" });
  });

  it("still reads a page under the limit", async () => {
    const server = await serve(() => undefined);
    const { index } = client(server, { limits: { pageBytes: 64 * 1024 } });
    expect((await index.getFiles("alpha")).map((file) => file.filename)).toEqual([alpha.filename]);
  });

  it("applies the page limit to a file:// index page, by its size on disk", async () => {
    const url = await writeFileIndex(join(root, "local"), [alpha]);
    const local = (pageBytes: number) =>
      new IndexClient({
        settings: { indexUrl: url, extraIndexUrls: [], findLinks: [], noIndex: false, origin: {} },
        cache: null,
        netrcPath: null,
        limits: { pageBytes },
      });
    const error = await failure(local(100).getProject("alpha"));
    expect(error.code).toBe("response-too-large");
    expect(error.message).toContain(`${url}alpha/ is larger than the 100 B allowed`);
    expect((await local(64 * 1024).getFiles("alpha")).map((file) => file.filename)).toEqual([
      alpha.filename,
    ]);
  });

  it("stops a huge PEP 658 METADATA at the default 8 MiB, and caches none", async () => {
    const huge = stream({
      headers: { "Content-Type": "text/plain" },
      chunk: Buffer.from(`Requires-Dist: x${"y".repeat(1000)}\n`),
      repeat: 50_000,
    });
    const server = await serve((request) =>
      request.path.endsWith(".whl.metadata") ? huge : undefined,
    );
    const { index, cache } = client(server);
    const [file] = await index.getFiles("alpha");
    const error = await failure(index.getMetadata(file!));
    expect(error.code).toBe("response-too-large");
    expect(error.message).toContain(`${server.filesUrl}${alpha.filename}.metadata`);
    expect(error.message).toContain("8.0 MiB allowed for one METADATA");
    expect(error.hint).toContain("PYLAYER_MAX_METADATA_BYTES");
    expect(huge.sent.bytes).toBeLessThan(huge.stream.chunk.length * 50_000);
    expect(await cache.getMetadata({ sha256: alpha.sha256 })).toBeNull();
  });

  it("refuses a METADATA entry over the limit in a wheel read by Range requests, before reading it", async () => {
    const server = await serve(() => undefined, { pep658: false });
    const { index, cache } = client(server, { limits: { metadataBytes: 16 * 1024 } });
    const [file] = await index.getFiles("verbose");
    const error = await failure(index.getMetadata(file!));
    expect(error.code).toBe("response-too-large");
    expect(error.message).toContain(`${server.filesUrl}${verbose.filename}`);
    expect(await cache.getMetadata({ sha256: verbose.sha256 })).toBeNull();
    // The same wheel's METADATA is read when the limit allows it.
    const { index: roomy } = client(server);
    expect(await roomy.getMetadata(file!)).toContain("Name: verbose");
  });

  it("stops a wheel download that goes past its announced size as bytes arrive", async () => {
    const endless = stream({
      headers: { "Content-Type": "application/octet-stream" },
      chunk: Buffer.alloc(64 * 1024, 1),
      repeat: 10_000,
    });
    const server = await serve((request) =>
      request.path === `/files/${alpha.filename}` ? endless : undefined,
    );
    const { index } = client(server);
    const [file] = await index.getFiles("alpha");
    const error = await failure(index.download(file!));
    expect(error.code).toBe("size-mismatch");
    expect(error.message).toContain(`is over ${alpha.bytes.length} bytes`);
    expect(endless.sent.bytes).toBeLessThan(64 * 1024 * 10_000);
    expect(await readdir(join(root, "cache", "wheels-v1")).catch(() => [])).not.toContain("sha256");
  });

  it("stops a wheel download at the file limit when no size is announced", async () => {
    const endless = stream({
      headers: { "Content-Type": "application/octet-stream" },
      chunk: Buffer.alloc(64 * 1024, 1),
      repeat: 10_000,
    });
    const server = await serve(
      (request) => (request.path === `/files/${alpha.filename}` ? endless : undefined),
      { sizes: false, format: "html" },
    );
    const { index } = client(server, { limits: { fileBytes: MIB } });
    const [file] = await index.getFiles("alpha");
    const error = await failure(index.download(file!));
    expect(error.code).toBe("response-too-large");
    expect(error.message).toContain(
      `${server.filesUrl}${alpha.filename} is larger than the 1.0 MiB`,
    );
    expect(error.hint).toContain("PYLAYER_MAX_FILE_BYTES");
  });

  it("reads the limits from PYLAYER_MAX_*_BYTES and refuses values that are not byte counts", () => {
    expect(responseLimitsFromEnv({})).toEqual(DEFAULT_RESPONSE_LIMITS);
    expect(DEFAULT_RESPONSE_LIMITS).toEqual({
      pageBytes: 64 * MIB,
      metadataBytes: 8 * MIB,
      fileBytes: 4096 * MIB,
    });
    expect(
      responseLimitsFromEnv({
        PYLAYER_MAX_PAGE_BYTES: "1000",
        PYLAYER_MAX_METADATA_BYTES: " 2000 ",
        PYLAYER_MAX_FILE_BYTES: "",
      }),
    ).toEqual({ ...DEFAULT_RESPONSE_LIMITS, pageBytes: 1000, metadataBytes: 2000 });
    for (const value of ["0", "-1", "1.5", "64MiB", "lots"]) {
      expect(() => responseLimitsFromEnv({ PYLAYER_MAX_PAGE_BYTES: value })).toThrow(
        expect.objectContaining({ code: "invalid-config" }),
      );
    }
  });
});

describe("progress deadline (issue 19, point 9)", () => {
  it("aborts a page that drips one byte at a time, retries, then fails naming the URL", async () => {
    const drip = () =>
      stream({
        headers: { "Content-Type": "text/html" },
        chunk: Buffer.from("<"),
        repeat: 1_000,
        intervalMs: 20,
      });
    const server = await serve((request) =>
      request.path === "/simple/alpha/" ? drip() : undefined,
    );
    const { index } = client(server, { timeoutMs: 300 });
    const error = await failure(index.getProject("alpha"));
    expect(error.code).toBe("network");
    expect(error.message).toContain(`GET ${server.url}alpha/ failed after 3 attempts`);
    expect(error.message).toContain("slower than 1.0 KiB/s over 0.3 s");
    expect(server.requests.filter((request) => request.path === "/simple/alpha/")).toHaveLength(3);
    expect(await cachedPages()).toEqual([]);
  });

  it("aborts a wheel download that drips, and keeps no partial file", async () => {
    const server = await serve((request) =>
      request.path === `/files/${alpha.filename}`
        ? stream({ chunk: Buffer.from("P"), repeat: 1_000, intervalMs: 20 })
        : undefined,
    );
    const { index } = client(server, { timeoutMs: 300, retries: 1 });
    const [file] = await index.getFiles("alpha");
    const error = await failure(index.download(file!));
    expect(error.code).toBe("network");
    expect(error.message).toContain(`${server.filesUrl}${alpha.filename} failed after 2 attempts`);
    const temporary = await readdir(join(root, "cache", "wheels-v1", ".tmp")).catch(() => []);
    expect(temporary).toEqual([]);
  });

  it("lets a transfer above the floor finish although it takes longer than the timeout", async () => {
    // 2 KiB every 50 ms is 40 KiB/s: well above the 1 KiB/s floor, for about a second.
    const anchor = `<a href="../../files/${alpha.filename}#sha256=${alpha.sha256}">${alpha.filename}</a>`;
    const chunk = Buffer.from(`${anchor}<!-- ${"z".repeat(2048 - anchor.length - 9)} -->\n`);
    let served = 0;
    const server = await serve((request) => {
      if (request.path !== "/simple/alpha/") return undefined;
      served++;
      return stream({
        headers: { "Content-Type": "text/html" },
        chunk,
        repeat: 20,
        intervalMs: 50,
      });
    });
    const { index } = client(server, { timeoutMs: 300 });
    const listing = await index.getProject("alpha");
    expect(served).toBe(1);
    expect(listing.files.map((file) => file.filename)).toEqual([alpha.filename]);
  });

  it("with a floor of 0, only the idle timeout applies", async () => {
    const server = await serve((request) =>
      request.path === "/simple/alpha/"
        ? stream({
            headers: { "Content-Type": "text/html" },
            chunk: Buffer.from(" "),
            repeat: 40,
            intervalMs: 20,
          })
        : undefined,
    );
    const { index } = client(server, { timeoutMs: 300, minimumBytesPerSecond: 0 });
    // 40 spaces over 0.8 s: below the floor, yet read to the end.
    expect((await index.getProject("alpha")).files).toEqual([]);
  });
});
