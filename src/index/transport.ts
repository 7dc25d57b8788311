/**
 * One HTTP exchange on `node:http` / `node:https`: the small part of fetch that the index
 * client uses (status, headers, final URL, a streamed and decoded body, abort by signal),
 * with redirects followed and keep-alive connections reused.
 *
 * Why not the global fetch: Node loads its bundled undici on the first fetch call, which
 * costs about 100 ms of CPU — more than the whole resolution of a warm build. `node:http`
 * is part of the already-initialized runtime and loads in a few milliseconds.
 */
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { exchangeLent } from "./lent-transport.js";

/** What `HttpClient` reads of a response. */
export interface TransportResponse {
  status: number;
  /** The URL that answered, after redirects. */
  url: string;
  headers: { get(name: string): string | null };
  /** The decoded body; `cancel` discards the rest of it. */
  body: (AsyncIterable<Uint8Array> & { cancel(): Promise<void> }) | null;
}

export interface TransportRequest {
  method: "GET" | "HEAD";
  headers: Record<string, string>;
  signal: AbortSignal;
  /**
   * The caller uses each body chunk before it asks for the next one or awaits anything
   * not already settled (it hashes and copies it): a GET may then lend chunks of a reused
   * buffer (lent-transport.ts) instead of handing out fresh memory for each.
   */
  lentChunks?: boolean;
}

const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

interface Protocol {
  request: (url: URL, options: RequestOptions) => ClientRequest;
  agent: Agent;
}

// node:http and node:https are loaded on first use (https alone costs ~14 ms of start-up,
// and a build from a file:// index needs neither). One keep-alive pool per protocol and
// process, as fetch has, so the page requests of a build share a few connections.
const protocols = new Map<string, Promise<Protocol>>();
function protocolFor(name: "http:" | "https:"): Promise<Protocol> {
  let protocol = protocols.get(name);
  if (protocol === undefined) {
    protocol =
      name === "https:"
        ? import("node:https").then((https) => ({
            request: https.request,
            agent: new https.Agent({ keepAlive: true, scheduling: "lifo" }),
          }))
        : import("node:http").then((http) => ({
            request: http.request,
            agent: new http.Agent({ keepAlive: true, scheduling: "lifo" }),
          }));
    protocols.set(name, protocol);
  }
  return protocol;
}

/**
 * Sends the request and resolves once the headers of the final response are in.
 * Redirects are followed (at most 20); an Authorization header is dropped when a
 * redirect leaves the origin, as fetch does. Bodies encoded with gzip, deflate or br
 * are decoded.
 */
export async function send(url: string, request: TransportRequest): Promise<TransportResponse> {
  let current = new URL(url);
  let headers = { ...request.headers };
  // Set aside for good once an answer comes content-coded: node:http decodes it.
  let lent = request.lentChunks === true && request.method === "GET";
  for (let redirects = 0; ; redirects++) {
    let location: string | undefined;
    const lentResponse =
      lent && (current.protocol === "http:" || current.protocol === "https:")
        ? await exchangeLent(current, headers, request.signal)
        : undefined;
    lent = lentResponse !== undefined;
    if (lentResponse !== undefined) {
      location = lentResponse.headers.get("location") ?? undefined;
      if (!isRedirect(lentResponse.status, location)) return lentResponse;
      await lentResponse.body?.cancel();
    } else {
      const message = await exchange(current, request.method, headers, request.signal);
      const status = message.statusCode ?? 0;
      location = message.headers.location;
      if (!isRedirect(status, location)) {
        return toResponse(current.href, status, message, request.method);
      }
      // Drained, so that the kept-alive connection serves the next request.
      message.resume();
    }
    if (redirects >= MAX_REDIRECTS) {
      throw Object.assign(new Error(`more than ${MAX_REDIRECTS} redirects`), {
        code: "ERR_TOO_MANY_REDIRECTS",
      });
    }
    const next = new URL(location!, current);
    if (next.origin !== current.origin) {
      const { Authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
    current = next;
  }
}

function isRedirect(status: number, location: string | undefined): boolean {
  return REDIRECT_STATUSES.has(status) && location !== undefined;
}

async function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`unsupported protocol ${url.protocol}`);
  }
  const protocol = await protocolFor(url.protocol);
  return new Promise((resolve, reject) => {
    const outgoing = protocol.request(url, {
      method,
      headers: { "Accept-Encoding": "gzip, deflate, br", ...headers },
      agent: protocol.agent,
      signal,
    });
    outgoing.once("response", resolve);
    outgoing.once("error", reject);
    outgoing.end();
  });
}

function toResponse(
  url: string,
  status: number,
  message: IncomingMessage,
  method: string,
): TransportResponse {
  const headers = {
    get(name: string): string | null {
      const value = message.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
  if (method === "HEAD" || status === 204 || status === 304) {
    message.resume();
    return { status, url, headers, body: null };
  }
  const encoding = (headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : undefined;
  let stream: Readable = message;
  if (decoder !== undefined) {
    // Errors of the socket (reset, abort) reach the reader through the decoder.
    message.once("error", (error) => decoder.destroy(error));
    stream = message.pipe(decoder);
  }
  const body = Object.assign(stream as AsyncIterable<Uint8Array>, {
    async cancel(): Promise<void> {
      stream.destroy();
      message.destroy();
    },
  });
  return { status, url, headers, body };
}
