/**
 * `--codeartifact DOMAIN/REPOSITORY`. moto does not implement CodeArtifact, so the two calls
 * pylayer makes (GetRepositoryEndpoint with format pypi, GetAuthorizationToken) are answered
 * by a stub on 127.0.0.1 that the AWS SDK reaches through AWS_ENDPOINT_URL_CODEARTIFACT; the
 * repository is the loopback index, which accepts only the token the stub issued last
 * (Basic auth, user `aws`), as CodeArtifact does.
 */

import { readdir, readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

interface StubCall {
  method: string;
  path: string;
  query: Record<string, string>;
  signed: boolean;
}

let index: IndexServer;
let stub: Server;
let stubUrl = "";
const calls: StubCall[] = [];
/** The token the index accepts; `undefined`: none (every token refused). */
let accepted: string | undefined;
let issued = 0;
/** Index requests answered before the current token "expires" (then only a new one works). */
let expireAfter = Number.POSITIVE_INFINITY;
let indexRequests = 0;

const basic = (token: string) => `Basic ${Buffer.from(`aws:${token}`).toString("base64")}`;
const TOKEN_PREFIX = "ca-secret-token-";

beforeAll(async () => {
  index = await startIndexServer(
    [
      buildWheel({ name: "greet", version: "1.2", requires: ["colorish>=0.2"] }),
      buildWheel({ name: "colorish", version: "0.3" }),
    ],
    {
      etags: false,
      hooks: {
        onRequest(request) {
          indexRequests++;
          if (indexRequests > expireAfter && accepted !== undefined) {
            expireAfter = Number.POSITIVE_INFINITY;
            accepted = `${TOKEN_PREFIX}${issued + 1}`; // only the next token will do
          }
          return accepted !== undefined && request.headers.authorization === basic(accepted)
            ? undefined
            : "401";
        },
      },
    },
  );
  stub = createServer((request: IncomingMessage, response) => {
    const url = new URL(request.url ?? "/", "http://stub");
    calls.push({
      method: request.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      signed: /^AWS4-HMAC-SHA256 /.test(request.headers.authorization ?? ""),
    });
    request.resume();
    response.setHeader("content-type", "application/json");
    if (url.pathname === "/v1/repository/endpoint") {
      response.end(JSON.stringify({ repositoryEndpoint: index.url.replace(/simple\/$/, "") }));
    } else if (url.pathname === "/v1/authorization-token") {
      issued++;
      response.end(
        JSON.stringify({
          authorizationToken: `${TOKEN_PREFIX}${issued}`,
          expiration: Math.floor(Date.now() / 1000) + 3600,
        }),
      );
    } else {
      response.statusCode = 404;
      response.end(JSON.stringify({ message: "not stubbed" }));
    }
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  const address = stub.address();
  stubUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
});
afterAll(async () => {
  await index?.close();
  await new Promise((resolve) => stub?.close(resolve));
});

function environment(home: string): NodeJS.ProcessEnv {
  return isolatedEnv(home, {
    AWS_ENDPOINT_URL_CODEARTIFACT: stubUrl,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: "eu-west-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    NO_COLOR: "1",
  });
}

/** Every file under a folder, as text. */
async function allText(folder: string): Promise<string> {
  let text = "";
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text += await readFile(join(entry.parentPath, entry.name), "latin1");
  }
  return text;
}

function reset(options: { accept: boolean; expireAfter?: number }) {
  calls.length = 0;
  indexRequests = 0;
  accepted = options.accept ? `${TOKEN_PREFIX}${issued + 1}` : undefined;
  expireAfter = options.expireAfter ?? Number.POSITIVE_INFINITY;
}

describe("--codeartifact DOMAIN/REPOSITORY", () => {
  it("builds from the repository's endpoint with the token as Basic auth (user aws), printing and caching no token", async () => {
    reset({ accept: true });
    const home = await temporaryFolder();
    const cwd = await temporaryFolder();
    const result = await runCli(
      ["build", "greet", "--runtime", "python3.11", "--codeartifact", "acme/python", "-v"].concat([
        "--codeartifact-owner",
        "111122223333",
      ]),
      { cwd, env: environment(home) },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("greet 1.2");
    expect(result.stderr).toContain("is CodeArtifact acme/python");
    const endpoint = calls.find((call) => call.path === "/v1/repository/endpoint");
    expect(endpoint?.query).toMatchObject({
      domain: "acme",
      repository: "python",
      format: "pypi",
      "domain-owner": "111122223333",
    });
    const tokens = calls.filter((call) => call.path === "/v1/authorization-token");
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.method).toBe("POST");
    expect(tokens[0]?.query).toMatchObject({ domain: "acme", "domain-owner": "111122223333" });
    expect(calls.every((call) => call.signed)).toBe(true);
    const everything = result.stdout + result.stderr + (await allText(join(home, "cache")));
    expect(everything).not.toContain(TOKEN_PREFIX);
    expect(everything).not.toContain(basic(`${TOKEN_PREFIX}${issued}`).slice(6));
  });

  it("fetches a new token once when the index refuses the current one (expired during the build)", async () => {
    reset({ accept: true, expireAfter: 1 });
    const home = await temporaryFolder();
    const result = await runCli(
      ["build", "greet", "--runtime", "python3.11", "--codeartifact", "acme/python", "--no-cache"],
      { cwd: await temporaryFolder(), env: environment(home) },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(calls.filter((call) => call.path === "/v1/authorization-token")).toHaveLength(2);
    expect(result.stdout + result.stderr).not.toContain(TOKEN_PREFIX);
  });

  it("fails with index-auth naming the permission when a fresh token is refused too, without showing it", async () => {
    reset({ accept: false });
    const home = await temporaryFolder();
    const result = await runCli(
      ["build", "greet", "--runtime", "python3.11", "--codeartifact", "acme/python", "--json"],
      { cwd: await temporaryFolder(), env: environment(home) },
    );
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toContain("index-auth");
    expect(output).toContain("codeartifact:ReadFromRepository");
    expect(output).not.toContain(TOKEN_PREFIX);
    expect(calls.filter((call) => call.path === "/v1/authorization-token")).toHaveLength(2);
  });

  it("refuses a malformed repository and --index-url with it (usage errors)", async () => {
    const home = await temporaryFolder();
    const malformed = await runCli(["build", "greet", "--codeartifact", "acme"], {
      cwd: await temporaryFolder(),
      env: environment(home),
    });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("is not DOMAIN/REPOSITORY");
    const both = await runCli(
      ["build", "greet", "--codeartifact", "acme/python", "-i", "https://example.com/simple/"],
      { cwd: await temporaryFolder(), env: environment(home) },
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--codeartifact and --index-url");
  });
});
