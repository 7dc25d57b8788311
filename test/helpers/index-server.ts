/**
 * A loopback package index for tests: PEP 503 HTML and PEP 691 JSON project pages
 * (with content negotiation), PEP 658 `.metadata` files, HTTP Range requests, ETag /
 * 304 revalidation, Basic auth and fault injection. Listens on 127.0.0.1 only.
 *
 * Layout: `<url>` = http://127.0.0.1:PORT/simple/, project pages at
 * `simple/<normalized-name>/`, files at `files/<filename>` (and `.metadata`).
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll } from "vitest";
import type { BuiltWheel } from "./wheels.js";

/** What a hook asks the server to do with one request instead of answering normally. */
export type FaultAction =
  | "500"
  | "503"
  | "429"
  | "404"
  | "401"
  | "403"
  /** Destroy the socket before answering. */
  | "reset"
  /** Announce the full Content-Length, send half the body, then close the socket. */
  | "short-body"
  /** Never answer (the connection stays open until the server closes). */
  | "hang"
  | { status: number; headers?: Record<string, string>; body?: string }
  | StreamFault;

/**
 * Answers 200 with `headers`, then writes `chunk` `repeat` times: as fast as the client
 * reads (waiting for the socket to drain), or one write every `intervalMs`. `sent` counts
 * the bytes handed to the socket, so a test can tell that a client stopped reading early.
 */
export interface StreamFault {
  stream: {
    headers?: Record<string, string>;
    chunk: Uint8Array;
    repeat: number;
    intervalMs?: number;
  };
  sent: { bytes: number };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** A file listed on the index that is not a built wheel (e.g. an sdist). */
export interface ExtraFile {
  project: string;
  filename: string;
  bytes: Uint8Array;
}

export interface IndexServerOptions {
  /** Page format; "negotiate" (default) follows the Accept header, JSON on ties. */
  format?: "html" | "json" | "negotiate";
  /** Serve and announce `.metadata` files (PEP 658). Default true. */
  pep658?: boolean;
  /** Honour Range requests. Default true. */
  ranges?: boolean;
  /** Require Basic auth on every request. */
  auth?: { username: string; password: string };
  /** filename → yank reason (true: yanked without a reason). */
  yanked?: Record<string, string | true>;
  /** filename → Requires-Python; default: the wheel's `spec.requiresPython`. */
  requiresPython?: Record<string, string>;
  /** Announce sha256 hashes. Default true. */
  hashes?: boolean;
  /** filename → the sha256 to announce instead of the real one (hash-mismatch tests). */
  announcedSha256?: Record<string, string>;
  /** filename → the `.metadata` sha256 to announce instead of the real one. */
  announcedMetadataSha256?: Record<string, string>;
  /** Announce sizes in JSON (PEP 700). Default true. */
  sizes?: boolean;
  /** filename → the size to announce instead of the real one (size-mismatch tests). */
  announcedSize?: Record<string, number>;
  /** ETag and Last-Modified on project pages, answering 304 when they match. Default true. */
  etags?: boolean;
  /** Cache-Control of project pages (and of their 304s), e.g. PyPI's `max-age=600, public`. */
  cacheControl?: string;
  /** Files listed besides the wheels (sdists…). */
  extraFiles?: ExtraFile[];
  hooks?: {
    /** Called for every request (after it is recorded); may return a fault to inject. */
    onRequest?: (request: RecordedRequest) => FaultAction | undefined;
  };
}

export interface IndexServer {
  /** http://127.0.0.1:PORT/simple/ */
  url: string;
  /** http://127.0.0.1:PORT/files/ */
  filesUrl: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

interface ServedFile {
  project: string;
  filename: string;
  bytes: Uint8Array;
  sha256: string;
  metadata: string | undefined;
  requiresPython: string | undefined;
}

export function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function servedFiles(wheels: BuiltWheel[], options: IndexServerOptions): ServedFile[] {
  const files: ServedFile[] = wheels.map((wheel) => ({
    project: normalize(wheel.spec.name),
    filename: wheel.filename,
    bytes: wheel.bytes,
    sha256: wheel.sha256,
    metadata: wheel.metadata,
    requiresPython: options.requiresPython?.[wheel.filename] ?? wheel.spec.requiresPython,
  }));
  for (const extra of options.extraFiles ?? []) {
    files.push({
      project: normalize(extra.project),
      filename: extra.filename,
      bytes: extra.bytes,
      sha256: sha256(extra.bytes),
      metadata: undefined,
      requiresPython: options.requiresPython?.[extra.filename],
    });
  }
  return files;
}

/** PEP 503 HTML for one project. `filesPrefix` is the (relative) URL of the files folder. */
function projectHtml(
  project: string,
  files: ServedFile[],
  options: IndexServerOptions,
  filesPrefix: string,
): string {
  const anchors = files.map((file) => {
    const announced = options.announcedSha256?.[file.filename] ?? file.sha256;
    const fragment = options.hashes === false ? "" : `#sha256=${announced}`;
    const attributes = [`href="${filesPrefix}${encodeURIComponent(file.filename)}${fragment}"`];
    if (file.requiresPython !== undefined) {
      attributes.push(`data-requires-python="${escapeHtml(file.requiresPython)}"`);
    }
    const yanked = options.yanked?.[file.filename];
    if (yanked !== undefined) {
      attributes.push(yanked === true ? "data-yanked" : `data-yanked="${escapeHtml(yanked)}"`);
    }
    if ((options.pep658 ?? true) && file.metadata !== undefined) {
      const metadataHash =
        options.announcedMetadataSha256?.[file.filename] ?? sha256(file.metadata);
      attributes.push(`data-dist-info-metadata="sha256=${metadataHash}"`);
      attributes.push(`data-core-metadata="sha256=${metadataHash}"`);
    }
    return `    <a ${attributes.join(" ")}>${escapeHtml(file.filename)}</a><br/>`;
  });
  return `<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" content="1.1"><title>Links for ${project}</title></head>\n  <body>\n    <h1>Links for ${project}</h1>\n${anchors.join("\n")}\n  </body>\n</html>\n`;
}

/** PEP 691 JSON for one project. */
function projectJson(
  project: string,
  files: ServedFile[],
  options: IndexServerOptions,
  filesUrl: string,
): string {
  return JSON.stringify({
    meta: { "api-version": "1.1" },
    name: project,
    versions: [],
    files: files.map((file) => {
      const entry: Record<string, unknown> = {
        filename: file.filename,
        url: `${filesUrl}${encodeURIComponent(file.filename)}`,
        hashes:
          options.hashes === false
            ? {}
            : { sha256: options.announcedSha256?.[file.filename] ?? file.sha256 },
      };
      if (file.requiresPython !== undefined) entry["requires-python"] = file.requiresPython;
      const yanked = options.yanked?.[file.filename];
      if (yanked !== undefined) entry.yanked = yanked;
      if ((options.pep658 ?? true) && file.metadata !== undefined) {
        const metadataHash =
          options.announcedMetadataSha256?.[file.filename] ?? sha256(file.metadata);
        entry["core-metadata"] = { sha256: metadataHash };
        entry["dist-info-metadata"] = { sha256: metadataHash };
      }
      if (options.sizes ?? true) {
        entry.size = options.announcedSize?.[file.filename] ?? file.bytes.length;
      }
      return entry;
    }),
  });
}

/** q-value of a media type in an Accept header (0 when absent). */
function acceptQuality(accept: string, mediaType: string): number {
  let best = 0;
  for (const part of accept.split(",")) {
    const [type, ...parameters] = part.trim().split(";");
    if (type?.trim().toLowerCase() !== mediaType) continue;
    let quality = 1;
    for (const parameter of parameters) {
      const [key, value] = parameter.trim().split("=");
      if (key === "q" && value !== undefined) quality = Number(value);
    }
    best = Math.max(best, quality);
  }
  return best;
}

const JSON_TYPE = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE = "application/vnd.pypi.simple.v1+html";

function chooseFormat(
  accept: string | undefined,
  format: IndexServerOptions["format"],
): { contentType: string; json: boolean } {
  if (format === "json") return { contentType: JSON_TYPE, json: true };
  if (format === "html") return { contentType: "text/html; charset=utf-8", json: false };
  if (accept === undefined) return { contentType: "text/html; charset=utf-8", json: false };
  const json = acceptQuality(accept, JSON_TYPE);
  const html = Math.max(acceptQuality(accept, HTML_TYPE), acceptQuality(accept, "text/html"));
  if (json > 0 && json >= html) return { contentType: JSON_TYPE, json: true };
  if (acceptQuality(accept, HTML_TYPE) >= acceptQuality(accept, "text/html")) {
    return { contentType: HTML_TYPE, json: false };
  }
  return { contentType: "text/html; charset=utf-8", json: false };
}

function applyFault(action: FaultAction, request: IncomingMessage, response: ServerResponse): void {
  if (action === "reset") {
    request.socket.destroy();
    return;
  }
  if (action === "hang") return;
  if (typeof action === "object" && "stream" in action) {
    void streamBody(action, response);
    return;
  }
  if (typeof action === "object") {
    response.writeHead(action.status, action.headers ?? {});
    response.end(action.body ?? "");
    return;
  }
  if (action === "short-body") return; // handled where the body is known
  const status = Number(action);
  const headers: Record<string, string> = {};
  if (status === 429) headers["Retry-After"] = "0";
  if (status === 401) headers["WWW-Authenticate"] = 'Basic realm="test index"';
  response.writeHead(status, headers);
  response.end(`injected ${status}`);
}

async function streamBody(fault: StreamFault, response: ServerResponse): Promise<void> {
  const { chunk, repeat, intervalMs, headers } = fault.stream;
  response.writeHead(200, headers ?? {});
  let closed = false;
  response.once("close", () => {
    closed = true;
  });
  for (let index = 0; index < repeat && !closed; index++) {
    const drained = response.write(chunk);
    fault.sent.bytes += chunk.length;
    if (intervalMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    } else if (!drained) {
      await new Promise<void>((resolve) => {
        const done = () => {
          response.off("drain", done);
          response.off("close", done);
          resolve();
        };
        response.once("drain", done);
        response.once("close", done);
      });
    }
  }
  if (!closed) response.end();
}

/** Sends `body`, honouring Range (when enabled) and the short-body fault. */
function sendBody(
  request: IncomingMessage,
  response: ServerResponse,
  body: Uint8Array,
  headers: Record<string, string>,
  options: { ranges: boolean; shortBody: boolean },
): void {
  const range = request.headers.range;
  if (options.ranges) headers["Accept-Ranges"] = "bytes";
  let status = 200;
  let slice = body;
  if (options.ranges && range !== undefined) {
    const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start: number | undefined;
    let end: number | undefined;
    if (match !== null && (match[1] !== "" || match[2] !== "")) {
      if (match[1] === "") {
        const suffix = Number(match[2]);
        start = Math.max(0, body.length - suffix);
        end = body.length - 1;
      } else {
        start = Number(match[1]);
        end = match[2] === "" ? body.length - 1 : Math.min(Number(match[2]), body.length - 1);
      }
    }
    if (start === undefined || end === undefined || start > end || start >= body.length) {
      response.writeHead(416, { "Content-Range": `bytes */${body.length}` });
      response.end();
      return;
    }
    status = 206;
    slice = body.subarray(start, end + 1);
    headers["Content-Range"] = `bytes ${start}-${end}/${body.length}`;
  }
  headers["Content-Length"] = String(slice.length);
  response.writeHead(status, headers);
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  if (options.shortBody) {
    response.write(slice.subarray(0, Math.floor(slice.length / 2)), () => {
      request.socket.destroy();
    });
    return;
  }
  response.end(slice);
}

/**
 * A loopback index of `wheels` for the calling test file, closed after the file's tests.
 * Call at the top level of a test file.
 */
export async function indexForFile(
  wheels: BuiltWheel[],
  options: IndexServerOptions = {},
): Promise<IndexServer> {
  const server = await startIndexServer(wheels, options);
  afterAll(async () => {
    await server.close();
  });
  return server;
}

export async function startIndexServer(
  wheels: BuiltWheel[],
  options: IndexServerOptions = {},
): Promise<IndexServer> {
  const files = servedFiles(wheels, options);
  const projects = new Map<string, ServedFile[]>();
  for (const file of files) {
    const list = projects.get(file.project) ?? [];
    list.push(file);
    projects.set(file.project, list);
  }
  const byFilename = new Map(files.map((file) => [file.filename, file]));
  const requests: RecordedRequest[] = [];
  const lastModified = new Date(Date.UTC(2024, 0, 1)).toUTCString();
  let baseUrl = "";

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      headers: request.headers,
    };
    requests.push(recorded);
    const fault = options.hooks?.onRequest?.(recorded) ?? undefined;
    if (fault !== undefined && fault !== "short-body") {
      applyFault(fault, request, response);
      return;
    }
    const shortBody = fault === "short-body";

    if (options.auth !== undefined) {
      const expected = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString("base64")}`;
      if (request.headers.authorization !== expected) {
        response.writeHead(401, { "WWW-Authenticate": 'Basic realm="test index"' });
        response.end("unauthorized");
        return;
      }
    }

    const pageMatch = /^\/simple\/([^/]+)\/?$/.exec(url.pathname);
    if (pageMatch !== null) {
      const project = decodeURIComponent(pageMatch[1]!);
      const projectFiles = projects.get(project);
      if (projectFiles === undefined) {
        response.writeHead(404, { "Content-Type": "text/plain" });
        response.end("not found");
        return;
      }
      const { contentType, json } = chooseFormat(request.headers.accept, options.format);
      const body = json
        ? projectJson(project, projectFiles, options, `${baseUrl}files/`)
        : projectHtml(project, projectFiles, options, "../../files/");
      const headers: Record<string, string> = { "Content-Type": contentType, Vary: "Accept" };
      const caching: Record<string, string> =
        options.cacheControl === undefined ? {} : { "Cache-Control": options.cacheControl };
      Object.assign(headers, caching);
      if (options.etags ?? true) {
        const etag = `"${sha256(body).slice(0, 16)}"`;
        headers.ETag = etag;
        headers["Last-Modified"] = lastModified;
        if (request.headers["if-none-match"] === etag) {
          response.writeHead(304, { ETag: etag, ...caching });
          response.end();
          return;
        }
      }
      sendBody(request, response, Buffer.from(body), headers, { ranges: false, shortBody });
      return;
    }
    if (url.pathname === "/simple/" || url.pathname === "/simple") {
      const anchors = [...projects.keys()]
        .sort()
        .map((project) => `<a href="${project}/">${project}</a>`)
        .join("\n");
      sendBody(
        request,
        response,
        Buffer.from(`<!DOCTYPE html><html><body>\n${anchors}\n</body></html>\n`),
        { "Content-Type": "text/html" },
        { ranges: false, shortBody },
      );
      return;
    }
    const fileMatch = /^\/files\/([^/]+)$/.exec(url.pathname);
    if (fileMatch !== null) {
      const requested = decodeURIComponent(fileMatch[1]!);
      const isMetadata = requested.endsWith(".metadata");
      const file = byFilename.get(isMetadata ? requested.slice(0, -".metadata".length) : requested);
      if (
        file !== undefined &&
        isMetadata &&
        (options.pep658 ?? true) &&
        file.metadata !== undefined
      ) {
        sendBody(
          request,
          response,
          Buffer.from(file.metadata),
          { "Content-Type": "text/plain" },
          {
            ranges: false,
            shortBody,
          },
        );
        return;
      }
      if (file !== undefined && !isMetadata) {
        sendBody(
          request,
          response,
          file.bytes,
          { "Content-Type": "application/octet-stream", ETag: `"${file.sha256.slice(0, 16)}"` },
          { ranges: options.ranges ?? true, shortBody },
        );
        return;
      }
    }
    response.writeHead(404, { "Content-Type": "text/plain" });
    response.end("not found");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/`;
  return {
    url: `${baseUrl}simple/`,
    filesUrl: `${baseUrl}files/`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

/**
 * Writes a file-based simple index like a local pip mirror: `simple/<project>/index.html`
 * linking to `files/<filename>` with `#sha256=` fragments. With `pep658`, `.metadata`
 * files are written and announced. Returns the `file://` URL of `simple/`.
 */
export async function writeFileIndex(
  directory: string,
  wheels: BuiltWheel[],
  options: Pick<IndexServerOptions, "pep658" | "yanked" | "requiresPython" | "extraFiles"> = {},
): Promise<string> {
  const settings: IndexServerOptions = { pep658: false, ...options };
  const files = servedFiles(wheels, settings);
  await mkdir(join(directory, "files"), { recursive: true });
  const projects = new Map<string, ServedFile[]>();
  for (const file of files) {
    await writeFile(join(directory, "files", file.filename), file.bytes);
    if (settings.pep658 === true && file.metadata !== undefined) {
      await writeFile(join(directory, "files", `${file.filename}.metadata`), file.metadata);
    }
    const list = projects.get(file.project) ?? [];
    list.push(file);
    projects.set(file.project, list);
  }
  for (const [project, projectFiles] of projects) {
    await mkdir(join(directory, "simple", project), { recursive: true });
    await writeFile(
      join(directory, "simple", project, "index.html"),
      projectHtml(project, projectFiles, settings, "../../files/"),
    );
  }
  return `${pathToFileURL(join(directory, "simple")).href}/`;
}

/** A port on 127.0.0.1 that refuses connections (bound, then released). */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
