/**
 * A loopback server for a PEP 503 folder written by `synthetic.mjs`, behaving like PyPI
 * where it matters for caching: project pages in HTML or PEP 691 JSON by the Accept
 * header, with ETags (304 on If-None-Match) and `Cache-Control: max-age=600`; files with
 * ETags, Range support and a long immutable max-age. It counts requests so the benchmark
 * can show what a warm build asks for. Optional latency emulates a distant index.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { join, normalize } from "node:path";

const JSON_TYPE = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE = "application/vnd.pypi.simple.v1+html";

function prefersJson(accept = "") {
  const best = { json: 0, html: 0 };
  for (const part of accept.split(",")) {
    const [type, ...parameters] = part.trim().split(";");
    const q = Number(parameters.find((p) => p.trim().startsWith("q="))?.split("=")[1] ?? 1);
    if (type === JSON_TYPE) best.json = Math.max(best.json, q);
    else if (type === HTML_TYPE || type === "text/html") best.html = Math.max(best.html, q);
  }
  return best.json > 0 && best.json >= best.html;
}

export async function startServer(folder, { latencyMs = 0 } = {}) {
  const counters = { requests: 0, notModified: 0, pages: 0, files: 0, metadata: 0, bytes: 0 };
  const server = createServer(async (request, response) => {
    counters.requests++;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = normalize(decodeURIComponent(url.pathname));
    if (path.includes("..")) {
      response.writeHead(400).end();
      return;
    }
    try {
      if (path.startsWith("/simple/")) {
        let json = prefersJson(request.headers.accept);
        const body = await readFile(join(folder, path, json ? "index.json" : "index.html")).catch(
          () => {
            json = false;
            return readFile(join(folder, path, "index.html"));
          },
        );
        const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 20)}${json ? "j" : "h"}"`;
        const headers = {
          "Content-Type": json ? JSON_TYPE : "text/html",
          "Cache-Control": "max-age=600, public",
          ETag: etag,
          Vary: "Accept",
        };
        counters.pages++;
        if (request.headers["if-none-match"] === etag) {
          counters.notModified++;
          response.writeHead(304, headers).end();
          return;
        }
        counters.bytes += body.length;
        response.writeHead(200, { ...headers, "Content-Length": body.length }).end(body);
        return;
      }
      if (path.startsWith("/files/")) {
        const file = join(folder, path);
        const { size } = await stat(file);
        if (path.endsWith(".metadata")) counters.metadata++;
        else counters.files++;
        const headers = {
          "Content-Type": path.endsWith(".metadata") ? "text/plain" : "application/octet-stream",
          "Cache-Control": "max-age=365000000, immutable, public",
          ETag: `"${size}-${path.length}"`,
          "Accept-Ranges": "bytes",
        };
        const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? "");
        let start = 0;
        let end = size - 1;
        let status = 200;
        if (range !== null) {
          if (range[1] === "") start = Math.max(0, size - Number(range[2]));
          else {
            start = Number(range[1]);
            if (range[2] !== "") end = Math.min(end, Number(range[2]));
          }
          status = 206;
          headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
        }
        counters.bytes += end - start + 1;
        response.writeHead(status, { ...headers, "Content-Length": end - start + 1 });
        if (request.method === "HEAD") {
          response.end();
          return;
        }
        createReadStream(file, { start, end }).pipe(response);
        return;
      }
      response.writeHead(404).end();
    } catch {
      if (!response.headersSent) response.writeHead(404);
      response.end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/simple/`,
    counters,
    resetCounters() {
      for (const key of Object.keys(counters)) counters[key] = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
