import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Cache } from "../../src/cache/index.js";
import { isPylayerError } from "../../src/errors.js";
import { IndexClient, type IndexClientOptions } from "../../src/index/client.js";
import { maxAgeOf } from "../../src/index/pages.js";
import type { DistributionFile, IndexEvent, IndexSettings } from "../../src/index/types.js";
import {
  type FaultAction,
  type IndexServer,
  type IndexServerOptions,
  type RecordedRequest,
  refusedPort,
  startIndexServer,
  writeFileIndex,
} from "../helpers/index-server.js";
import { type BuiltWheel, buildWheel, writeWheels } from "../helpers/wheels.js";

const alpha1 = buildWheel({ name: "alpha", version: "1.0", requiresPython: ">=3.8" });
const alpha2 = buildWheel({ name: "alpha", version: "2.0" });
const beta = buildWheel({ name: "Beta.Pkg", version: "1.0", requires: ["alpha"] });
const big = buildWheel({
  name: "big",
  version: "1.0",
  files: { "big/blob.bin": randomBytes(1_500_000), "big/__init__.py": "" },
});
const WHEELS = [alpha1, alpha2, beta, big];

let root: string;
const servers: IndexServer[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pylayer-index-test-"));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await rm(root, { recursive: true, force: true });
});

async function serve(wheels: BuiltWheel[] = WHEELS, options: IndexServerOptions = {}) {
  const server = await startIndexServer(wheels, options);
  servers.push(server);
  return server;
}

function settings(overrides: Partial<IndexSettings>): IndexSettings {
  return {
    indexUrl: "https://unused.invalid/simple/",
    extraIndexUrls: [],
    findLinks: [],
    noIndex: false,
    origin: {},
    ...overrides,
  };
}

function makeClient(
  overrides: Partial<IndexSettings>,
  options: Partial<IndexClientOptions> = {},
): { client: IndexClient; events: IndexEvent[] } {
  const events: IndexEvent[] = [];
  const client = new IndexClient({
    settings: settings(overrides),
    cache: new Cache(join(root, "cache")),
    netrcPath: null,
    retries: 3,
    retryBaseDelayMs: 1,
    sleep: async () => undefined,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { client, events };
}

const paths = (server: IndexServer) => server.requests.map((request) => request.path);

/** Fails the first `count` requests that match `predicate` with `action`. */
function failFirst(
  count: number,
  action: FaultAction,
  predicate: (request: RecordedRequest) => boolean = () => true,
) {
  let failed = 0;
  return (request: RecordedRequest) => {
    if (predicate(request) && failed < count) {
      failed++;
      return action;
    }
    return undefined;
  };
}

/** The fields that must not depend on the page format. */
function comparable(file: DistributionFile) {
  const { index: _index, ...rest } = file;
  return rest;
}

describe("listing", () => {
  it("lists wheels with hashes, sizes, requires-python and PEP 658 flags (JSON by negotiation)", async () => {
    const server = await serve(WHEELS, {
      extraFiles: [{ project: "alpha", filename: "alpha-1.0.tar.gz", bytes: new Uint8Array([1]) }],
    });
    const { client } = makeClient({ indexUrl: server.url });
    const listing = await client.getProject("Alpha");
    expect(listing.files.map((file) => file.filename)).toEqual([alpha1.filename, alpha2.filename]);
    expect(listing.otherFiles).toEqual(["alpha-1.0.tar.gz"]);
    expect(listing.index).toBe(server.url);
    expect(listing.files[0]).toMatchObject({
      url: `${server.filesUrl}${alpha1.filename}`,
      hashes: { sha256: alpha1.sha256 },
      requiresPython: ">=3.8",
      size: alpha1.bytes.length,
      yanked: false,
      coreMetadata: { hashes: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } },
      index: server.url,
    });
    const pageRequest = server.requests.find((request) => request.path === "/simple/alpha/");
    expect(pageRequest?.headers.accept).toBe(
      "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01",
    );
  });

  it("reads the same files from HTML and JSON pages", async () => {
    const yanked = { [alpha1.filename]: "broken build", [alpha2.filename]: true as const };
    const html = await serve(WHEELS, { format: "html", yanked, sizes: false });
    const json = await serve(WHEELS, { format: "json", yanked, sizes: false });
    const fromHtml = await makeClient({ indexUrl: html.url }).client.getFiles("alpha");
    const fromJson = await makeClient({ indexUrl: json.url }).client.getFiles("alpha");
    expect(fromHtml.map(comparable)).toEqual(
      fromJson.map((file) => ({
        ...comparable(file),
        url: file.url.replace(json.filesUrl, html.filesUrl),
      })),
    );
    expect(fromHtml.map((file) => file.yanked)).toEqual([{ reason: "broken build" }, {}]);
  });

  it("uses the first index that has the project and never asks the others for it", async () => {
    // Extra indexes come first, in order, and the default index last (uv's order).
    const first = await serve([alpha1]);
    const second = await serve([alpha2, beta]);
    const { client } = makeClient({ indexUrl: second.url, extraIndexUrls: [first.url] });
    const alphaFiles = await client.getFiles("alpha");
    expect(alphaFiles.map((file) => file.filename)).toEqual([alpha1.filename]);
    expect(paths(second)).toEqual([]);
    const betaFiles = await client.getFiles("beta-pkg");
    expect(betaFiles.map((file) => file.index)).toEqual([second.url]);
    expect(paths(first)).toEqual(["/simple/alpha/", "/simple/beta-pkg/"]);
  });

  it("shares one lookup between concurrent callers", async () => {
    const server = await serve();
    const { client } = makeClient({ indexUrl: server.url });
    await Promise.all([1, 2, 3, 4, 5].map(() => client.getFiles("alpha")));
    expect(paths(server)).toEqual(["/simple/alpha/"]);
  });

  it("names every index tried when a project is found nowhere", async () => {
    const first = await serve([alpha1]);
    const second = await serve([beta]);
    const { client } = makeClient({ indexUrl: second.url, extraIndexUrls: [first.url] });
    const error = await client.getFiles("missing").catch((caught: unknown) => caught);
    expect(isPylayerError(error) && error.code).toBe("project-not-found");
    expect(String((error as Error).message)).toContain(`${first.url}, ${second.url}`);
  });
});

describe("unreachable indexes (outage policy)", () => {
  it("fails when an index asked before the one that has the project cannot be reached", async () => {
    const deadIndex = `http://127.0.0.1:${await refusedPort()}/simple/`;
    const server = await serve();
    const { client, events } = makeClient({ indexUrl: server.url, extraIndexUrls: [deadIndex] });
    const error = await client.getFiles("alpha").catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "index-unreachable",
      message: expect.stringContaining(
        `Index ${deadIndex} cannot be reached (ECONNREFUSED); it is asked before ${server.url}, which has "alpha"`,
      ),
      hint: expect.stringContaining(`--allow-unreachable-index ${deadIndex}`),
      details: { index: deadIndex, project: "alpha", answeredBy: server.url },
    });
    // Not a silent fallback: no warning that suggests the build went on.
    expect(events.filter((event) => event.type === "warning")).toEqual([]);
    expect(client.unreachableSources()).toEqual([deadIndex]);
  });

  it("fails when no index has the project and one could not be asked", async () => {
    const deadIndex = `http://127.0.0.1:${await refusedPort()}/simple/`;
    const server = await serve();
    const { client } = makeClient({ indexUrl: deadIndex, extraIndexUrls: [server.url] });
    await expect(client.getFiles("nowhere")).rejects.toMatchObject({
      code: "index-unreachable",
      message: expect.stringContaining("no other index has"),
    });
  });

  it("an index allowed to be unreachable is warned about once, skipped, and the others used", async () => {
    const port = await refusedPort();
    const deadIndex = `http://127.0.0.1:${port}/simple/`;
    const server = await serve();
    const { client, events } = makeClient(
      { indexUrl: server.url, extraIndexUrls: [deadIndex] },
      // Compared without the trailing slash (and credentials).
      { allowUnreachable: [`http://127.0.0.1:${port}/simple`] },
    );
    await Promise.all([client.getFiles("alpha"), client.getFiles("beta-pkg")]);
    await client.getFiles("big");
    const toDead = events.filter(
      (event) => event.type === "request" && event.url.startsWith(`http://127.0.0.1:${port}/`),
    );
    expect(toDead).toHaveLength(1);
    expect(client.warnings).toHaveLength(1);
    expect(client.warnings[0]).toContain(deadIndex);
    expect(events.filter((event) => event.type === "warning")).toHaveLength(1);
    expect(client.unreachableSources()).toEqual([deadIndex]);

    // Issue 18, point 3: the one index that could have had it was unreachable, so the
    // error is about the network, not the name.
    const error = await client.getFiles("nowhere").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "index-unreachable" });
    expect((error as Error).message).toContain(`${deadIndex} could not be reached`);
    expect((error as Error).message).toContain(`${server.url} does not have it`);
    expect((error as { hint: string }).hint).toContain("Check the network");
  });
});

describe("retries", () => {
  const faults: FaultAction[] = ["500", "503", "429", "reset", "short-body"];

  it.each(faults)("retries a page after %s, then succeeds", async (fault) => {
    const server = await serve(WHEELS, {
      format: "html",
      hooks: { onRequest: failFirst(2, fault, (request) => request.path === "/simple/alpha/") },
    });
    const { client, events } = makeClient({ indexUrl: server.url });
    expect(await client.getFiles("alpha")).toHaveLength(2);
    expect(paths(server)).toEqual(["/simple/alpha/", "/simple/alpha/", "/simple/alpha/"]);
    expect(events.filter((event) => event.type === "retry")).toHaveLength(2);
  });

  it.each(faults)("retries a download after %s, then succeeds", async (fault) => {
    const server = await serve(WHEELS, {
      hooks: { onRequest: failFirst(1, fault, (request) => request.path.endsWith(".whl")) },
    });
    const { client } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("big");
    const result = await client.download(file!);
    expect(result.sha256).toBe(big.sha256);
  });

  it("honours Retry-After up to the cap", async () => {
    const server = await serve(WHEELS, {
      hooks: {
        onRequest: failFirst(1, { status: 429, headers: { "Retry-After": "3600" } }),
      },
    });
    const delays: number[] = [];
    const { client } = makeClient(
      { indexUrl: server.url },
      { sleep: async (milliseconds) => void delays.push(milliseconds), maxRetryDelayMs: 2500 },
    );
    await client.getFiles("alpha");
    expect(delays).toEqual([2500]);
  });

  it("backs off exponentially and gives up after the configured retries", async () => {
    const server = await serve(WHEELS, { hooks: { onRequest: () => "500" } });
    const delays: number[] = [];
    const { client } = makeClient(
      { indexUrl: server.url },
      {
        retries: 2,
        retryBaseDelayMs: 10,
        sleep: async (milliseconds) => void delays.push(milliseconds),
      },
    );
    await expect(client.getFiles("alpha")).rejects.toMatchObject({ code: "network" });
    expect(server.requests).toHaveLength(3);
    expect(delays).toEqual([10, 20]);
  });

  it("times out a request that never answers", async () => {
    const server = await serve(WHEELS, { hooks: { onRequest: () => "hang" } });
    const { client } = makeClient({ indexUrl: server.url }, { retries: 1, timeoutMs: 100 });
    await expect(client.getFiles("alpha")).rejects.toMatchObject({ code: "network" });
    expect(server.requests).toHaveLength(2);
  });
});

describe("credentials", () => {
  const auth = { username: "alice", password: "s3cret-token" };

  it("sends URL credentials to the index and its files, and hides them everywhere", async () => {
    const server = await serve(WHEELS, { auth, pep658: false });
    const withCredentials = server.url.replace(
      "http://",
      `http://${auth.username}:${auth.password}@`,
    );
    const { client, events } = makeClient({ indexUrl: withCredentials });
    const [file] = await client.getFiles("alpha");
    await client.download(file!);
    await client.getMetadata(file!);
    expect(
      server.requests.every((request) => request.headers.authorization?.startsWith("Basic ")),
    ).toBe(true);
    expect(JSON.stringify(events)).not.toContain(auth.password);
    expect(file!.index).not.toContain(auth.password);
  });

  it("reads credentials from netrc for the index host", async () => {
    const server = await serve(WHEELS, { auth });
    const netrcPath = join(root, "netrc");
    await writeFile(
      netrcPath,
      `machine 127.0.0.1\n  login ${auth.username}\n  password ${auth.password}\n`,
    );
    const { client } = makeClient({ indexUrl: server.url }, { netrcPath });
    const [file] = await client.getFiles("alpha");
    expect(await client.getMetadata(file!)).toBe(alpha1.metadata);
  });

  it("answers 401 with index-auth, no retry, and no secret in the error", async () => {
    const server = await serve(WHEELS, { auth });
    const wrong = server.url.replace("http://", "http://alice:wrong-password@");
    const { client } = makeClient({ indexUrl: wrong });
    const error = await client.getFiles("alpha").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "index-auth" });
    expect(server.requests).toHaveLength(1);
    expect(JSON.stringify(error)).not.toContain("wrong-password");
    expect(String((error as Error).message)).not.toContain("wrong-password");
    expect((error as { hint: string }).hint).toMatch(/refused/);
  });

  it("suggests netrc or URL credentials when none were sent", async () => {
    const server = await serve(WHEELS, { auth });
    const { client } = makeClient({ indexUrl: server.url });
    await expect(client.getFiles("alpha")).rejects.toMatchObject({
      code: "index-auth",
      hint: expect.stringContaining("netrc"),
    });
  });
});

describe("metadata", () => {
  it("uses the PEP 658 .metadata file and never touches the wheel", async () => {
    const server = await serve();
    const { client, events } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("big");
    expect(await client.getMetadata(file!)).toBe(big.metadata);
    expect(paths(server)).toEqual(["/simple/big/", `/files/${big.filename}.metadata`]);
    expect(events).toContainEqual({ type: "metadata", filename: big.filename, via: "pep658" });
  });

  it("reads METADATA through Range requests when there is no .metadata file", async () => {
    const server = await serve(WHEELS, { pep658: false });
    const { client, events } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("big");
    expect(await client.getMetadata(file!)).toBe(big.metadata);
    const wheelRequests = server.requests.filter((request) => request.path.endsWith(".whl"));
    expect(wheelRequests.length).toBeGreaterThan(0);
    expect(wheelRequests.every((request) => request.headers.range !== undefined)).toBe(true);
    expect(events).toContainEqual({ type: "metadata", filename: big.filename, via: "range" });
    expect(events.some((event) => event.type === "download-start")).toBe(false);
  });

  it("downloads the whole wheel (into the cache) when the server ignores Range", async () => {
    const server = await serve(WHEELS, { pep658: false, ranges: false });
    const { client, events } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("big");
    expect(await client.getMetadata(file!)).toBe(big.metadata);
    expect(events).toContainEqual({ type: "metadata", filename: big.filename, via: "wheel" });
    expect(await new Cache(join(root, "cache")).getWheel(big.sha256, big.filename)).not.toBeNull();
    // The wheel is now cached: downloading it again makes no request.
    const before = server.requests.length;
    await client.download(file!);
    expect(server.requests.length).toBe(before);
  });

  it("caches metadata by the wheel's sha256 across clients", async () => {
    const server = await serve();
    const first = makeClient({ indexUrl: server.url }).client;
    const [file] = await first.getFiles("alpha");
    await first.getMetadata(file!);
    const before = server.requests.length;
    const { client: second, events } = makeClient({ indexUrl: server.url });
    expect(await second.getMetadata(file!)).toBe(alpha1.metadata);
    expect(server.requests.length).toBe(before);
    expect(events).toContainEqual({ type: "metadata", filename: alpha1.filename, via: "cache" });
  });

  it("rejects a .metadata file whose hash does not match, and caches nothing", async () => {
    const server = await serve(WHEELS, {
      announcedMetadataSha256: { [alpha1.filename]: "0".repeat(64) },
    });
    const { client } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("alpha");
    const error = await client.getMetadata(file!).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "hash-mismatch" });
    expect((error as Error).message).toContain("0".repeat(64));
    expect(await listFiles(join(root, "cache", "metadata-v1"))).toEqual([]);
  });
});

describe("downloads", () => {
  it("verifies, caches and reports progress", async () => {
    const server = await serve();
    const { client, events } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("big");
    const results = await Promise.all([client.download(file!), client.download(file!)]);
    expect(results[0]).toEqual(results[1]);
    expect(results[0]!.sha256).toBe(big.sha256);
    expect(server.requests.filter((request) => request.path.endsWith(".whl"))).toHaveLength(1);
    const progress = events.filter((event) => event.type === "download-progress");
    expect(progress.at(-1)).toMatchObject({
      bytesDone: big.bytes.length,
      totalBytes: big.bytes.length,
    });
    expect(events).toContainEqual(
      expect.objectContaining({ type: "download-done", fromCache: false, bytes: big.bytes.length }),
    );
  });

  it("fails with hash-mismatch and caches nothing", async () => {
    const wrong = "f".repeat(64);
    const server = await serve(WHEELS, { announcedSha256: { [big.filename]: wrong } });
    const { client } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("big");
    const error = await client.download(file!).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "hash-mismatch" });
    expect((error as Error).message).toContain(big.filename);
    expect((error as Error).message).toContain(wrong);
    expect((error as Error).message).toContain(big.sha256);
    expect(await listFiles(join(root, "cache", "wheels-v1"))).toEqual([]);
  });

  it("checks every announced algorithm besides sha256 (sha512 right, then wrong)", async () => {
    const server = await serve(WHEELS);
    const { client } = makeClient({ indexUrl: server.url }, { cache: null });
    const [file] = await client.getFiles("big");
    const sha512 = createHash("sha512").update(big.bytes).digest("hex");
    const right = await client.download({ ...file!, hashes: { ...file!.hashes, sha512 } });
    expect(right.sha256).toBe(big.sha256);
    await client.dispose();
    const wrong = "0".repeat(128);
    const fresh = makeClient({ indexUrl: server.url }, { cache: null }).client;
    const error = await fresh
      .download({ ...file!, hashes: { ...file!.hashes, sha512: wrong } })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "hash-mismatch" });
    expect((error as Error).message).toContain(`sha512 ${sha512}`);
    await fresh.dispose();
  });

  it("fails with size-mismatch when the announced size differs", async () => {
    const server = await serve(WHEELS, { announcedSize: { [alpha1.filename]: 12 } });
    const { client } = makeClient({ indexUrl: server.url });
    const [file] = await client.getFiles("alpha");
    await expect(client.download(file!)).rejects.toMatchObject({ code: "size-mismatch" });
    expect(await listFiles(join(root, "cache", "wheels-v1"))).toEqual([]);
  });

  it("works without a cache", async () => {
    const server = await serve();
    const { client } = makeClient({ indexUrl: server.url }, { cache: null });
    const [file] = await client.getFiles("alpha");
    const result = await client.download(file!);
    expect(result.sha256).toBe(alpha1.sha256);
    await client.dispose();
  });
});

describe("page cache", () => {
  it("revalidates with ETag (304) and serves offline from the cache", async () => {
    const server = await serve();
    const first = makeClient({ indexUrl: server.url }).client;
    const files = await first.getFiles("alpha");

    const { client: second, events } = makeClient({ indexUrl: server.url });
    expect(await second.getFiles("alpha")).toEqual(files);
    const revalidation = server.requests.at(-1);
    expect(revalidation?.headers["if-none-match"]).toMatch(/^"/);
    expect(events).toContainEqual({
      type: "cache-hit",
      kind: "page",
      url: `${server.url}alpha/`,
      revalidated: true,
    });

    const before = server.requests.length;
    const offline = makeClient({ indexUrl: server.url }, { offline: true }).client;
    expect(await offline.getFiles("alpha")).toEqual(files);
    await expect(offline.getFiles("beta-pkg")).rejects.toMatchObject({ code: "offline-miss" });
    await expect(offline.download(files[0]!)).rejects.toMatchObject({ code: "offline-miss" });
    expect(server.requests.length).toBe(before);
  });
});

describe("page freshness (Cache-Control max-age)", () => {
  const pageRequests = (server: IndexServer) =>
    server.requests.filter((request) => request.path.endsWith("/alpha/")).length;

  it("uses a page within its max-age without a request; --refresh asks again", async () => {
    const server = await serve(WHEELS, { cacheControl: "max-age=600, public" });
    const files = await makeClient({ indexUrl: server.url }).client.getFiles("alpha");
    expect(pageRequests(server)).toBe(1);

    const { client: fresh, events } = makeClient({ indexUrl: server.url });
    expect(await fresh.getFiles("alpha")).toEqual(files);
    expect(pageRequests(server)).toBe(1);
    expect(events).toContainEqual({
      type: "cache-hit",
      kind: "page",
      url: `${server.url}alpha/`,
      fresh: true,
    });

    const refreshing = makeClient({ indexUrl: server.url }, { refresh: true }).client;
    expect(await refreshing.getFiles("alpha")).toEqual(files);
    expect(pageRequests(server)).toBe(2);
    expect(server.requests.at(-1)?.headers["if-none-match"]).toMatch(/^"/);
  });

  it.each([
    ["no Cache-Control", undefined],
    ["no-cache", "no-cache, max-age=600"],
    ["no-store", "no-store"],
    ["max-age=0", "max-age=0"],
  ])("revalidates every time with %s", async (_name, cacheControl) => {
    const server = await serve(
      WHEELS,
      cacheControl === undefined ? {} : { cacheControl: cacheControl },
    );
    await makeClient({ indexUrl: server.url }).client.getFiles("alpha");
    await makeClient({ indexUrl: server.url }).client.getFiles("alpha");
    expect(pageRequests(server)).toBe(2);
  });

  it("revalidates a page whose max-age has passed, and a 304 starts a new max-age", async () => {
    const server = await serve(WHEELS, { cacheControl: "max-age=600" });
    await makeClient({ indexUrl: server.url }).client.getFiles("alpha");
    const cache = new Cache(join(root, "cache"));
    const key = `${server.url}alpha/`;
    const stored = (await cache.getPage(key))!;
    expect(stored.maxAgeSeconds).toBe(600);
    await cache.putPage({ ...stored, storedAt: new Date(Date.now() - 601_000).toISOString() });

    await makeClient({ indexUrl: server.url }).client.getFiles("alpha");
    expect(pageRequests(server)).toBe(2);
    const revalidated = (await cache.getPage(key))!;
    expect(Date.now() - Date.parse(revalidated.storedAt)).toBeLessThan(60_000);
    expect(revalidated.maxAgeSeconds).toBe(600);
    await makeClient({ indexUrl: server.url }).client.getFiles("alpha");
    expect(pageRequests(server)).toBe(2);
  });
});

describe("maxAgeOf (RFC 9111 Cache-Control)", () => {
  it.each([
    [null, {}],
    ["max-age=600, public", { maxAgeSeconds: 600 }],
    ["public, MAX-AGE=60", { maxAgeSeconds: 60 }],
    ['max-age="30"', { maxAgeSeconds: 30 }],
    ["max-age=0", {}],
    ["no-cache", {}],
    ["max-age=600, no-store", {}],
    ["private", {}],
    ["max-age=abc", {}],
  ])("%s", (header, expected) => {
    expect(maxAgeOf(header)).toEqual(expected);
  });
});

describe("local sources", () => {
  it("reads a file:// simple index (folders with index.html)", async () => {
    const indexUrl = await writeFileIndex(join(root, "mirror"), WHEELS);
    const { client } = makeClient({ indexUrl: indexUrl.slice(0, -1) /* no trailing slash */ });
    const files = await client.getFiles("beta_pkg");
    expect(files.map((file) => file.filename)).toEqual([beta.filename]);
    expect(files[0]!.hashes).toEqual({ sha256: beta.sha256 });
    expect(await client.getMetadata(files[0]!)).toBe(beta.metadata);
    const downloaded = await client.download(files[0]!);
    expect(downloaded).toEqual({
      path: join(root, "mirror", "files", beta.filename),
      sha256: beta.sha256,
    });
  });

  it("uses .metadata files of a file:// index when announced", async () => {
    const indexUrl = await writeFileIndex(join(root, "mirror"), WHEELS, { pep658: true });
    const { client, events } = makeClient({ indexUrl });
    const [file] = await client.getFiles("alpha");
    expect(await client.getMetadata(file!)).toBe(alpha1.metadata);
    expect(events).toContainEqual({ type: "metadata", filename: alpha1.filename, via: "pep658" });
  });

  it("merges a find-links folder with the winning index", async () => {
    const server = await serve([alpha1]);
    const folder = join(root, "wheels");
    await writeWheels(folder, [
      { name: "alpha", version: "2.0" },
      { name: "other", version: "1.0" },
    ]);
    const { client } = makeClient({
      indexUrl: server.url,
      findLinks: [pathToFileURL(folder).href],
    });
    const files = await client.getFiles("alpha");
    expect(files.map((file) => file.filename)).toEqual([alpha1.filename, alpha2.filename]);
    const local = files[1]!;
    expect(local.hashes).toEqual({});
    expect((await client.download(local)).sha256).toBe(alpha2.sha256);
  });

  it("uses find-links alone with no-index", async () => {
    const folder = join(root, "wheels");
    await writeWheels(folder, [{ name: "alpha", version: "2.0" }]);
    const { client } = makeClient({ noIndex: true, findLinks: [pathToFileURL(folder).href] });
    expect((await client.getFiles("alpha")).map((file) => file.filename)).toEqual([
      alpha2.filename,
    ]);
    await expect(client.getFiles("beta-pkg")).rejects.toMatchObject({ code: "project-not-found" });
  });

  it("reads find-links HTML pages over http and file://", async () => {
    const server = await serve();
    const page = join(root, "links.html");
    await mkdir(join(root, "files"), { recursive: true });
    await writeFile(join(root, "files", beta.filename), beta.bytes);
    await writeFile(
      page,
      `<html><body><a href="files/${beta.filename}#sha256=${beta.sha256}">b</a></body></html>`,
    );
    const { client } = makeClient({
      noIndex: true,
      findLinks: [`${server.url}alpha/`, pathToFileURL(page).href],
    });
    expect((await client.getFiles("alpha")).map((file) => file.filename)).toEqual([
      alpha1.filename,
      alpha2.filename,
    ]);
    const [betaFile] = await client.getFiles("beta.pkg");
    expect(betaFile!.hashes).toEqual({ sha256: beta.sha256 });
    expect((await client.download(betaFile!)).path).toBe(join(root, "files", beta.filename));
  });

  it("warns about a missing find-links folder", async () => {
    const { client } = makeClient({
      noIndex: true,
      findLinks: [pathToFileURL(join(root, "nope")).href],
    });
    await expect(client.getFiles("alpha")).rejects.toMatchObject({ code: "project-not-found" });
    expect(client.warnings).toEqual([expect.stringContaining("does not exist")]);
  });
});

async function listFiles(directory: string): Promise<string[]> {
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  } catch {
    return [];
  }
}
