import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "../../src/index/transport.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function text(response: Awaited<ReturnType<typeof send>>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body ?? []) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

const PAGE = "<html><body>pylayer index page</body></html>".repeat(20);
const request = (headers: Record<string, string> = {}, method: "GET" | "HEAD" = "GET") => ({
  method,
  headers,
  signal: new AbortController().signal,
});

describe("send (node:http transport)", () => {
  let main: { server: Server; url: string };
  let other: { server: Server; url: string };
  const seenAuthorization = new Map<string, string | undefined>();

  beforeAll(async () => {
    other = await listen((incoming, response) => {
      seenAuthorization.set(`other${incoming.url}`, incoming.headers.authorization);
      response.end("elsewhere");
    });
    main = await listen((incoming, response) => {
      seenAuthorization.set(`main${incoming.url}`, incoming.headers.authorization);
      const encodings: Record<string, (data: Buffer) => Buffer> = {
        "/gzip": gzipSync,
        "/deflate": deflateSync,
        "/br": brotliCompressSync,
      };
      const encode = encodings[incoming.url ?? ""];
      if (encode !== undefined) {
        response.setHeader("Content-Encoding", incoming.url!.slice(1));
        response.end(encode(Buffer.from(PAGE)));
      } else if (incoming.url === "/same-origin") {
        response.writeHead(302, { Location: "/plain" }).end();
      } else if (incoming.url === "/cross-origin") {
        response.writeHead(307, { Location: `${other.url}/target` }).end();
      } else if (incoming.url === "/loop") {
        response.writeHead(302, { Location: "/loop" }).end();
      } else if (incoming.url === "/not-modified") {
        response.writeHead(304, { ETag: '"v1"' }).end();
      } else if (incoming.url === "/stall") {
        response.writeHead(200, { "Content-Length": "100" });
        response.write("partial");
      } else {
        response.setHeader("ETag", '"abc"');
        response.end(PAGE);
      }
    });
  });
  afterAll(async () => {
    main.server.closeAllConnections();
    other.server.closeAllConnections();
    await new Promise((resolve) => main.server.close(resolve));
    await new Promise((resolve) => other.server.close(resolve));
  });

  it.each(["gzip", "deflate", "br"])("decodes a %s body", async (encoding) => {
    const response = await send(`${main.url}/${encoding}`, request());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-encoding")).toBe(encoding);
    expect(await text(response)).toBe(PAGE);
  });

  it("gives status, headers and the final URL", async () => {
    const response = await send(`${main.url}/plain`, request());
    expect(response.status).toBe(200);
    expect(response.url).toBe(`${main.url}/plain`);
    expect(response.headers.get("ETag")).toBe('"abc"');
    expect(response.headers.get("x-missing")).toBeNull();
    expect(await text(response)).toBe(PAGE);
  });

  it("follows a redirect on the same origin and keeps credentials", async () => {
    const response = await send(
      `${main.url}/same-origin`,
      request({ Authorization: "Basic eA==" }),
    );
    expect(response.url).toBe(`${main.url}/plain`);
    expect(await text(response)).toBe(PAGE);
    expect(seenAuthorization.get("main/plain")).toBe("Basic eA==");
  });

  it("drops the Authorization header when a redirect leaves the origin", async () => {
    const response = await send(
      `${main.url}/cross-origin`,
      request({ Authorization: "Basic c2VjcmV0" }),
    );
    expect(response.url).toBe(`${other.url}/target`);
    expect(await text(response)).toBe("elsewhere");
    expect(seenAuthorization.get("main/cross-origin")).toBe("Basic c2VjcmV0");
    expect(seenAuthorization.get("other/target")).toBeUndefined();
  });

  it("stops after 20 redirects", async () => {
    await expect(send(`${main.url}/loop`, request())).rejects.toMatchObject({
      code: "ERR_TOO_MANY_REDIRECTS",
    });
  });

  it("has no body for 304 and HEAD", async () => {
    expect((await send(`${main.url}/not-modified`, request())).body).toBeNull();
    const head = await send(`${main.url}/plain`, request({}, "HEAD"));
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
  });

  it("aborts a stalled body through the signal", async () => {
    const controller = new AbortController();
    const response = await send(`${main.url}/stall`, { ...request(), signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(text(response)).rejects.toThrow();
  });

  it("refuses other protocols", async () => {
    await expect(send("ftp://127.0.0.1/x", request())).rejects.toThrow(/unsupported protocol/);
  });
});
