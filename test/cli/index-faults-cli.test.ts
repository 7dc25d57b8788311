/**
 * The flags and outputs of issue 19's index and resolver points, through the `pylayer`
 * executable: search budget, yank warnings, bounded responses, timeouts and retries.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, type StreamFault, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const range = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

let server: IndexServer;
let faulty: IndexServer;
let home: string;

/** A page that drips one byte every 20 ms (`drip`), and one that is a gzip bomb (`bomb`). */
function faultFor(path: string): StreamFault | undefined {
  if (path === "/simple/drip/") {
    return {
      stream: {
        headers: { "Content-Type": "text/html" },
        chunk: Buffer.from("<"),
        repeat: 2_000,
        intervalMs: 20,
      },
      sent: { bytes: 0 },
    };
  }
  if (path === "/simple/bomb/") {
    return {
      stream: {
        headers: { "Content-Type": "text/html", "Content-Encoding": "gzip" },
        chunk: gzipSync(Buffer.alloc(1024 * 1024)),
        repeat: 16 * 1024,
      },
      sent: { bytes: 0 },
    };
  }
  return undefined;
}

beforeAll(async () => {
  server = await startIndexServer(
    [
      ...range(6).map((i) =>
        buildWheel({ name: "left", version: `${i}.0`, requires: [`c>=${i + 3}`] }),
      ),
      ...range(6).map((i) => buildWheel({ name: "right", version: `${i}.0`, requires: ["c<=3"] })),
      ...range(10).map((i) => buildWheel({ name: "c", version: `${i}.0` })),
      buildWheel({ name: "pinned", version: "1.0" }),
      buildWheel({ name: "pinned", version: "2.0" }),
    ],
    { yanked: { [buildWheel({ name: "pinned", version: "2.0" }).filename]: "bad <release>" } },
  );
  faulty = await startIndexServer([buildWheel({ name: "fine", version: "1.0" })], {
    hooks: { onRequest: (request) => faultFor(request.path) },
  });
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
  await faulty?.close();
});

function pylayer(args: string[]) {
  return runCli(["build", "--index-url", server.url, "--dry-run", "--no-cache", ...args], {
    env: isolatedEnv(home),
  });
}

describe("--resolver-budget", () => {
  it("names the conflict when the budget runs out (exit 1)", async () => {
    const result = await pylayer(["left", "right", "--resolver-budget", "8", "--json"]);
    expect(result.code).toBe(1);
    const error = JSON.parse(result.stdout).error;
    expect(error.code).toBe("resolution-too-complex");
    expect(error.message).toContain(
      "gave up after trying 8 candidates without settling this conflict on c",
    );
    expect(error.details.conflict.map((item: { requiredBy: string }) => item.requiredBy)).toEqual([
      expect.stringMatching(/^left \d+\.0$/),
      expect.stringMatching(/^right \d+\.0$/),
    ]);
  });

  it.each(["0", "-3", "2.5", "many"])(
    "refuses --resolver-budget %s as a usage error",
    async (value) => {
      const result = await pylayer(["c", `--resolver-budget=${value}`]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--resolver-budget ${value} is not a positive whole number`);
    },
  );

  it("is listed in --help", async () => {
    const help = await runCli(["build", "--help"]);
    expect(help.stdout).toContain("--resolver-budget");
  });
});

describe("a yanked file pinned with ==", () => {
  const warning =
    "pinned 2.0 is yanked (reason: bad <release>); it is used because pinned==2.0 pins that exact version (PEP 592).";

  it("is warned about with its reason in --json", async () => {
    const result = await pylayer(["pinned==2.0", "--json"]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.warnings).toEqual([warning]);
    expect(json.targets[0].packages[0]).toMatchObject({ name: "pinned", yanked: "bad <release>" });
  });

  it("is warned about with its reason in the text output", async () => {
    const result = await pylayer(["pinned==2.0"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(warning);
  });
});

describe("a server that drips (point 9: --timeout, --retries, PIP_TIMEOUT, UV_HTTP_TIMEOUT)", () => {
  const dripUrl = () => `${faulty.url}drip/`;
  const build = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
    runCli(
      ["build", "drip", "--index-url", faulty.url, "--dry-run", "--no-cache", "--json", ...args],
      {
        env: isolatedEnv(home, env),
        ...(cwd === undefined ? {} : { cwd }),
      },
    );
  const expectDeadline = (stdout: string, attempts: string) => {
    const error = JSON.parse(stdout).error;
    expect(error.code).toBe("network");
    expect(error.message).toContain(`GET ${dripUrl()} failed after ${attempts}`);
    expect(error.message).toContain("slower than 1.0 KiB/s over 0.3 s");
  };

  it("fails after --retries with a network error naming the URL (--timeout 0.3)", async () => {
    const result = await build(["--timeout", "0.3", "--retries", "1"]);
    expect(result.code).toBe(1);
    expectDeadline(result.stdout, "2 attempts");
  });

  it("takes the timeout and retries from PIP_TIMEOUT and PIP_RETRIES", async () => {
    const result = await build([], { PIP_TIMEOUT: "0.3", PIP_RETRIES: "0" });
    expect(result.code).toBe(1);
    expectDeadline(result.stdout, "1 attempt:");
  });

  it("takes them from UV_HTTP_TIMEOUT and UV_HTTP_RETRIES; PIP_* win over UV_*", async () => {
    const uv = await build([], { UV_HTTP_TIMEOUT: "0.3", UV_HTTP_RETRIES: "0" });
    expect(uv.code).toBe(1);
    expectDeadline(uv.stdout, "1 attempt:");
    const both = await build([], {
      PIP_RETRIES: "1",
      UV_HTTP_TIMEOUT: "0.3",
      UV_HTTP_RETRIES: "0",
    });
    expectDeadline(both.stdout, "2 attempts");
  });

  it("takes them from the project defaults (timeout, retries keys); a flag wins", async () => {
    const project = await temporaryFolder();
    await writeFile(join(project, "pylayer.toml"), "timeout = 0.3\nretries = 0\n");
    const fromFile = await build([], {}, project);
    expect(fromFile.code).toBe(1);
    expectDeadline(fromFile.stdout, "1 attempt:");
    const flag = await build(["--retries", "1"], {}, project);
    expectDeadline(flag.stdout, "2 attempts");
  });

  it.each([
    ["--timeout", "0", "--timeout 0 is not a positive number"],
    ["--timeout", "soon", "--timeout soon is not a positive number"],
    ["--retries", "-1", "--retries -1 is not a whole number (0 or more)"],
    ["--retries", "1.5", "--retries 1.5 is not a whole number (0 or more)"],
  ])("refuses %s %s as a usage error", async (flag, value, message) => {
    const result = await runCli(
      ["build", "fine", "--index-url", faulty.url, "--dry-run", `${flag}=${value}`],
      {
        env: isolatedEnv(home),
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("refuses PIP_TIMEOUT and UV_HTTP_RETRIES values that are not numbers (invalid-config)", async () => {
    const timeout = await build([], { PIP_TIMEOUT: "soon" });
    expect(timeout.code).toBe(1);
    expect(JSON.parse(timeout.stdout).error.code).toBe("invalid-config");
    expect(JSON.parse(timeout.stdout).error.message).toContain('PIP_TIMEOUT has "soon"');
    const retries = await build([], { UV_HTTP_RETRIES: "2.5" });
    expect(JSON.parse(retries.stdout).error.message).toContain('UV_HTTP_RETRIES has "2.5"');
  });

  it("lists --timeout and --retries in --help", async () => {
    const help = await runCli(["build", "--help"]);
    expect(help.stdout).toContain("--timeout SECONDS");
    expect(help.stdout).toContain("--retries N");
  });
});

describe("a gzip bomb page (point 8)", () => {
  it("fails with response-too-large naming the URL and the limit, and caches nothing", async () => {
    const cache = await temporaryFolder();
    const result = await runCli(
      ["build", "bomb", "--index-url", faulty.url, "--dry-run", "--cache-dir", cache, "--json"],
      { env: isolatedEnv(home) },
    );
    expect(result.code).toBe(1);
    const error = JSON.parse(result.stdout).error;
    expect(error.code).toBe("response-too-large");
    expect(error.message).toContain(`${faulty.url}bomb/ is larger than the 64.0 MiB allowed`);
    expect(error.hint).toContain("PYLAYER_MAX_PAGE_BYTES");
    const pages = await readdir(join(cache, "simple-v1"), { recursive: true }).catch(() => []);
    expect(pages.filter((entry) => entry.endsWith(".json"))).toEqual([]);
  });

  it("honours PYLAYER_MAX_PAGE_BYTES (a small limit refuses even a normal page)", async () => {
    const result = await runCli(
      ["build", "fine", "--index-url", faulty.url, "--dry-run", "--no-cache", "--json"],
      {
        env: isolatedEnv(home, { PYLAYER_MAX_PAGE_BYTES: "100" }),
      },
    );
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.message).toContain("100 B allowed for one index page");
  });
});
