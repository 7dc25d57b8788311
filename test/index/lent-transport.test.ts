/**
 * Downloads on reused read buffers (src/index/lent-transport.ts, through `send` with
 * `lentChunks`): the framings of RFC 9112 (Content-Length, chunked with extensions and
 * trailers, close-delimited), informational answers, kept-alive connections (reused,
 * replaced when the server closed them), lent chunks intact for a reader that copies and
 * then waits, failures that say what broke, the fallbacks to node:http, and HTTPS.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { send } from "../../src/index/transport.js";

const here = dirname(fileURLToPath(import.meta.url));
const repository = join(here, "..", "..");

/** What a raw server does with one request on one connection. */
type Answer = (socket: Socket, request: string, index: number) => void | Promise<void>;

interface RawServer {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  /** Request heads received, in order. */
  requests: string[];
}

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

/** A TCP server that reads request heads and writes exactly what `answer` writes. */
async function rawServer(answer: Answer): Promise<RawServer> {
  const state: RawServer = { url: "", connections: 0, requests: [] };
  const server = createServer((socket) => {
    state.connections++;
    let pending = "";
    socket.on("error", () => undefined);
    socket.on("data", (data) => {
      pending += data.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        state.requests.push(head);
        void answer(socket, head, state.requests.length - 1);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

const lent = (headers: Record<string, string> = {}) => ({
  method: "GET" as const,
  headers,
  signal: new AbortController().signal,
  lentChunks: true,
});

/** Reads the body as the download does: each lent chunk copied before anything else. */
async function readAll(
  url: string,
  options: { headers?: Record<string, string>; pauseMs?: number } = {},
): Promise<{ status: number; body: Buffer; chunks: number }> {
  const response = await send(url, lent(options.headers));
  const copies: Buffer[] = [];
  for await (const chunk of response.body ?? []) {
    copies.push(Buffer.from(chunk));
    if (options.pauseMs !== undefined) await sleep(options.pauseMs);
  }
  return { status: response.status, body: Buffer.concat(copies), chunks: copies.length };
}

const head = (lines: string[]) => `${lines.join("\r\n")}\r\n\r\n`;

describe("lent chunks (RFC 9112 framings)", () => {
  it("reads a Content-Length body to its end", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const server = await rawServer((socket) => {
      socket.write(head(["HTTP/1.1 200 OK", `Content-Length: ${body.length}`]));
      socket.write(body);
    });
    const read = await readAll(`${server.url}/file.whl`);
    expect(read.status).toBe(200);
    expect(read.body.equals(body)).toBe(true);
    expect(server.requests[0]).toMatch(/^GET \/file\.whl HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+/);
    expect(server.requests[0]).toMatch(/\r\nAccept-Encoding: identity(\r\n|$)/);
  });

  it("keeps every chunk intact for a reader that copies it and then waits", async () => {
    // Distinct bytes in every position: a chunk overwritten by a later read would show.
    const body = Buffer.alloc(2 * 1024 * 1024);
    for (let index = 0; index < body.length; index += 4) body.writeUInt32LE(index, index);
    const server = await rawServer((socket) => {
      socket.write(head(["HTTP/1.1 200 OK", `Content-Length: ${body.length}`]));
      socket.write(body);
    });
    const read = await readAll(`${server.url}/slow-reader`, { pauseMs: 1 });
    expect(read.body.equals(body)).toBe(true);
    expect(read.chunks).toBeGreaterThan(1);
  });

  it("reads a chunked body whose framing arrives a byte at a time, with extensions and trailers", async () => {
    const parts = ["hello, ", "chunked ", "world"];
    const framed = `${parts.map((part) => `${part.length.toString(16)};name=value\r\n${part}\r\n`).join("")}0\r\nX-Checksum: abc\r\n\r\n`;
    const server = await rawServer(async (socket) => {
      socket.setNoDelay(true);
      socket.write(head(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"]));
      for (const byte of Buffer.from(framed, "latin1")) {
        socket.write(Buffer.from([byte]));
        await sleep(0);
      }
    });
    const read = await readAll(`${server.url}/chunked`);
    expect(read.body.toString()).toBe(parts.join(""));
  });

  it("reads a body delimited by the end of the connection (HTTP/1.0)", async () => {
    const server = await rawServer((socket) => {
      socket.end(`${head(["HTTP/1.0 200 OK"])}until the end`);
    });
    expect((await readAll(`${server.url}/close`)).body.toString()).toBe("until the end");
  });

  it("skips informational answers", async () => {
    const server = await rawServer((socket) => {
      socket.write(head(["HTTP/1.1 103 Early Hints", "Link: </style.css>; rel=preload"]));
      socket.write(`${head(["HTTP/1.1 200 OK", "Content-Length: 3"])}abc`);
    });
    const read = await readAll(`${server.url}/hints`);
    expect([read.status, read.body.toString()]).toEqual([200, "abc"]);
  });

  it("answers without a body (204) leave the connection for the next request", async () => {
    const server = await rawServer((socket, _request, index) => {
      if (index === 0) socket.write(head(["HTTP/1.1 204 No Content"]));
      else socket.write(`${head(["HTTP/1.1 200 OK", "Content-Length: 2"])}ok`);
    });
    const first = await send(`${server.url}/empty`, lent());
    expect([first.status, first.body]).toEqual([204, null]);
    expect((await readAll(`${server.url}/next`)).body.toString()).toBe("ok");
    expect(server.connections).toBe(1);
  });
});

describe("kept-alive connections", () => {
  it("reuses one connection for requests one after another", async () => {
    const server = await rawServer((socket, request) => {
      const name = request.split(" ")[1]!;
      socket.write(`${head(["HTTP/1.1 200 OK", `Content-Length: ${name.length}`])}${name}`);
    });
    for (const name of ["/a", "/bb", "/ccc"]) {
      expect((await readAll(`${server.url}${name}`)).body.toString()).toBe(name);
    }
    expect(server.connections).toBe(1);
  });

  it("does not reuse a connection the answer closes", async () => {
    const server = await rawServer((socket) => {
      socket.end(`${head(["HTTP/1.1 200 OK", "Content-Length: 2", "Connection: close"])}ok`);
    });
    await readAll(`${server.url}/one`);
    await readAll(`${server.url}/two`);
    expect(server.connections).toBe(2);
  });

  it("opens a new connection when the server closed the idle one", async () => {
    const server = await rawServer((socket) => {
      socket.write(`${head(["HTTP/1.1 200 OK", "Content-Length: 2"])}ok`);
      // Closed once idle, as servers do after their keep-alive timeout.
      setTimeout(() => socket.end(), 20);
    });
    await readAll(`${server.url}/one`);
    await sleep(100);
    expect((await readAll(`${server.url}/two`)).body.toString()).toBe("ok");
    expect(server.connections).toBe(2);
  });

  it("asks again on a new connection when a reused one closes before answering", async () => {
    const server = await rawServer((socket, _request, index) => {
      // The second request arrives on the kept-alive connection, which the server drops
      // (its keep-alive timeout raced the request).
      if (index === 1) socket.destroy();
      else socket.write(`${head(["HTTP/1.1 200 OK", "Content-Length: 2"])}ok`);
    });
    await readAll(`${server.url}/one`);
    expect((await readAll(`${server.url}/two`)).body.toString()).toBe("ok");
    expect(server.requests).toHaveLength(3);
    expect(server.connections).toBe(2);
  });
});

describe("failures", () => {
  it("a body cut short is a reset connection (retried by the HTTP client)", async () => {
    const server = await rawServer((socket) => {
      socket.end(`${head(["HTTP/1.1 200 OK", "Content-Length: 100"])}only some`);
    });
    await expect(readAll(`${server.url}/short`)).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  it("a chunked body cut short is a reset connection", async () => {
    const server = await rawServer((socket) => {
      socket.end(`${head(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"])}a\r\nonly`);
    });
    await expect(readAll(`${server.url}/short`)).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  for (const [what, answer] of [
    ["a status line", "HTTP/2 200\r\n\r\n"],
    ["a header line", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"],
    ["a Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n"],
    ["a chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
  ] as const) {
    it(`a malformed answer (${what}) is an error that says so`, async () => {
      const server = await rawServer((socket) => {
        socket.write(answer);
      });
      await expect(readAll(`${server.url}/bad`)).rejects.toMatchObject({
        code: "ERR_MALFORMED_HTTP",
        message: expect.stringMatching(/^malformed HTTP answer: /),
      });
    });
  }

  it("an aborted request stops with the signal's reason", async () => {
    const server = await rawServer(() => undefined);
    const controller = new AbortController();
    const pending = send(`${server.url}/never`, { ...lent(), signal: controller.signal });
    setTimeout(() => controller.abort(new Error("given up")), 20);
    await expect(pending).rejects.toThrow("given up");
  });

  it("refuses a header value that would split the request", async () => {
    const server = await rawServer(() => undefined);
    await expect(
      send(`${server.url}/x`, lent({ Authorization: "a\r\nX-Evil: 1" })),
    ).rejects.toMatchObject({
      code: "ERR_INVALID_CHAR",
    });
  });
});

describe("what send leaves to node:http or handles around it", () => {
  it("a content-coded answer is asked again through node:http, which decodes it", async () => {
    const server = await rawServer((socket) => {
      const body = gzipSync("decoded by node:http");
      socket.write(
        `${head(["HTTP/1.1 200 OK", "Content-Encoding: gzip", `Content-Length: ${body.length}`])}`,
      );
      socket.write(body);
    });
    expect((await readAll(`${server.url}/coded`)).body.toString()).toBe("decoded by node:http");
    expect(server.requests).toHaveLength(2);
  });

  it("follows redirects, sending Authorization only within the origin", async () => {
    const other = await rawServer((socket) => {
      socket.write(`${head(["HTTP/1.1 200 OK", "Content-Length: 5"])}there`);
    });
    const main = await rawServer((socket, request) => {
      const path = request.split(" ")[1];
      const location = path === "/first" ? "/second" : `${other.url}/third`;
      socket.write(head(["HTTP/1.1 302 Found", `Location: ${location}`, "Content-Length: 0"]));
    });
    const read = await readAll(`${main.url}/first`, {
      headers: { Authorization: "Basic c2VjcmV0" },
    });
    expect(read.body.toString()).toBe("there");
    expect(main.requests.map((request) => /Authorization/.test(request))).toEqual([true, true]);
    expect(/Authorization/.test(other.requests[0]!)).toBe(false);
  });
});

describe("HTTPS", () => {
  it("downloads over TLS, trusting the certificate the way Node.js does (NODE_EXTRA_CA_CERTS)", async () => {
    const certificate = join(repository, "test", "fixtures", "tls", "localhost-cert.pem");
    const body = randomBytes(1024 * 1024 + 3);
    const server = createHttpsServer(
      {
        cert: readFileSync(certificate),
        key: readFileSync(join(repository, "test", "fixtures", "tls", "localhost-key.pem")),
      },
      (_request, response) => {
        response.writeHead(200, { "Content-Length": body.length });
        response.end(body);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      // A process of its own: the trusted certificates are read when Node.js starts.
      const script = `
        import { createHash } from "node:crypto";
        const { send } = await import(${JSON.stringify(join(repository, "dist", "index", "transport.js"))});
        // By name and by address; the last reader copies each chunk and then waits, while
        // TLS may deliver more bytes into the connection's buffer.
        for (const [host, pauseMs] of [["localhost", 0], ["127.0.0.1", 0], ["localhost", 1]]) {
          const response = await send("https://" + host + ":${port}/file.whl", {
            method: "GET", headers: {}, signal: new AbortController().signal, lentChunks: true,
          });
          const copies = [];
          for await (const chunk of response.body) {
            copies.push(Buffer.from(chunk));
            if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
          }
          const hash = createHash("sha256").update(Buffer.concat(copies)).digest("hex");
          console.log(response.status, hash);
        }`;
      // Asynchronously: this process serves the requests.
      const run = (env: Record<string, string>) =>
        new Promise<{ failed: boolean; stdout: string; stderr: string }>((resolve) => {
          execFile(
            process.execPath,
            ["--input-type=module", "-e", script],
            { env: { PATH: process.env.PATH ?? "", ...env } },
            (error, stdout, stderr) => resolve({ failed: error !== null, stdout, stderr }),
          );
        });
      const trusted = await run({ NODE_EXTRA_CA_CERTS: certificate });
      const digest = createHash("sha256").update(body).digest("hex");
      expect(trusted.stderr).toBe("");
      expect(trusted.stdout.trim().split("\n")).toEqual(Array(3).fill(`200 ${digest}`));
      const untrusted = await run({});
      expect(untrusted.failed).toBe(true);
      expect(untrusted.stderr).toMatch(/self[- ]signed|SELF_SIGNED/i);
    } finally {
      server.close();
    }
  });
});
