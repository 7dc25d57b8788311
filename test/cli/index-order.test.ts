/**
 * Issue 18, points 1–3 and the project-not-found part of 14, through the `pylayer`
 * executable with two loopback indexes: indexes from the command line and environment
 * before those of configuration files (uv's rule), the listing of indexes in the normal
 * output and --json (lock-file builds too), --index-strategy (uv's names and meanings), a pin that exists only
 * on an index the strategy did not consult, a network headline when every index that
 * could have the project was unreachable, and "did you mean" names from the index.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, refusedPort, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

/** "first": shared 1.0, only-first 1.0; "second": shared 2.0, pandas 2.2.3, requests. */
let first: IndexServer;
let second: IndexServer;
let home: string;

beforeAll(async () => {
  first = await startIndexServer([
    buildWheel({ name: "shared", version: "1.0" }),
    buildWheel({ name: "pandas", version: "2.1.0" }),
    buildWheel({ name: "only-first", version: "1.0" }),
  ]);
  second = await startIndexServer([
    buildWheel({ name: "shared", version: "2.0" }),
    buildWheel({ name: "pandas", version: "2.1.0" }),
    buildWheel({ name: "pandas", version: "2.2.3" }),
    buildWheel({ name: "requests", version: "2.32.3" }),
  ]);
  home = await temporaryFolder();
});
afterAll(async () => {
  await first?.close();
  await second?.close();
});

const projectPages = (server: IndexServer, project: string) =>
  server.requests.filter((request) => request.path === `/simple/${project}/`).length;

async function pipConf(text: string): Promise<string> {
  const folder = await temporaryFolder();
  const path = join(folder, "pip.conf");
  await writeFile(path, text);
  return path;
}

function build(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return runCli(["build", "--dry-run", "--no-cache", ...args], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: isolatedEnv(home, options.env ?? {}),
  });
}

describe("indexes from the command line come before those of configuration files (point 1)", () => {
  it("-i URL is asked before pip.conf's extra-index-url, and the output says so", async () => {
    const config = await pipConf(`[global]\nextra-index-url = ${second.url}\n`);
    const before = projectPages(second, "shared");
    const result = await build(["shared", "-i", first.url], { env: { PIP_CONFIG_FILE: config } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("shared 1.0");
    // first-index: the config's index is never asked about a project the user's index has.
    expect(projectPages(second, "shared")).toBe(before);
    expect(result.stderr).toContain("Indexes, in the order asked (first-index");
    expect(result.stderr).toContain(`1. ${first.url}  (index-url from --index-url)`);
    expect(result.stderr).toContain(`2. ${second.url}  (extra-index-url from ${config} [global])`);
  });

  it("the environment ranks before configuration files too (PIP_INDEX_URL vs [tool.pylayer])", async () => {
    const cwd = await temporaryFolder();
    await writeFile(
      join(cwd, "pylayer.toml"),
      `extra-index-url = ["${second.url}"]\nruntime = ["python3.12"]\n`,
    );
    const result = await build(["shared", "--json"], {
      cwd,
      env: { PIP_INDEX_URL: first.url },
    });
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.targets[0].packages).toMatchObject([{ name: "shared", version: "1.0" }]);
    expect(json.index).toEqual({
      strategy: "first-index",
      indexes: [
        { url: first.url, kind: "default", origin: "env PIP_INDEX_URL", level: "command-line" },
        {
          url: second.url,
          kind: "extra",
          origin: join(cwd, "pylayer.toml"),
          level: "configuration",
        },
      ],
    });
  });

  it("uv.toml indexes and index-strategy are read as configuration", async () => {
    const cwd = await temporaryFolder();
    await writeFile(
      join(cwd, "uv.toml"),
      `index-strategy = "unsafe-best-match"\n[[index]]\nurl = "${second.url}"\n`,
    );
    const result = await build(["shared", "-i", first.url], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("shared 2.0");
    expect(result.stderr).toContain("unsafe-best-match");
    expect(result.stderr).toContain(
      `2. ${second.url}  (extra-index-url from ${join(cwd, "uv.toml")})`,
    );
  });

  it("a build from a lock file lists its indexes in --json too (where files the lock names without a URL are looked up)", async () => {
    const cwd = await temporaryFolder();
    const lock = await runCli(["lock", "shared", "-i", first.url, "--runtime", "python3.12"], {
      cwd,
      env: isolatedEnv(home),
    });
    expect(lock.code, lock.stderr).toBe(0);
    const result = await build(
      [
        "--lock",
        "pylock.toml",
        "--json",
        "-i",
        first.url,
        "--index-strategy",
        "unsafe-first-match",
      ],
      { cwd, env: { PIP_EXTRA_INDEX_URL: second.url } },
    );
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.input).toMatchObject({ kind: "pylock" });
    expect(json.index).toEqual({
      strategy: "unsafe-first-match",
      indexes: [
        {
          url: second.url,
          kind: "extra",
          origin: "env PIP_EXTRA_INDEX_URL",
          level: "command-line",
        },
        { url: first.url, kind: "default", origin: "--index-url", level: "command-line" },
      ],
    });
  });

  it("a single index given on the command line goes without a listing", async () => {
    const result = await build(["shared", "-i", first.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain("Indexes, in the order asked");
  });

  it("two indexes on the command line are listed in the order asked", async () => {
    const result = await build(["shared", "-i", first.url, "--extra-index-url", second.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("shared 2.0");
    expect(result.stderr).toContain(`1. ${second.url}  (extra-index-url from --extra-index-url)`);
    expect(result.stderr).toContain(`2. ${first.url}  (index-url from --index-url)`);
  });
});

describe("--index-strategy (uv's names and meanings)", () => {
  it.each([
    // [strategy flag, environment, expected version of "shared"]
    [[], {}, "1.0"],
    [["--index-strategy", "first-index"], {}, "1.0"],
    [["--index-strategy", "unsafe-first-match"], {}, "1.0"],
    [["--index-strategy", "unsafe-best-match"], {}, "2.0"],
    [[], { UV_INDEX_STRATEGY: "unsafe-best-match" }, "2.0"],
    [["--index-strategy", "first-index"], { UV_INDEX_STRATEGY: "unsafe-best-match" }, "1.0"],
  ] as [string[], Record<string, string>, string][])(
    "%j %j takes shared %s",
    async (flags, env, version) => {
      const result = await build(
        ["shared", "--extra-index-url", first.url, "-i", second.url, ...flags],
        { env },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`shared ${version}`);
    },
  );

  it("unsafe-first-match falls back to a later index's versions when the first's do not fit", async () => {
    const result = await build([
      "shared>=2",
      "--extra-index-url",
      first.url,
      "-i",
      second.url,
      "--index-strategy",
      "unsafe-first-match",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("shared 2.0");
  });

  it("is a project-default key", async () => {
    const cwd = await temporaryFolder();
    await writeFile(
      join(cwd, "pyproject.toml"),
      `[tool.pylayer]\nindex-strategy = "unsafe-best-match"\nextra-index-url = ["${first.url}"]\n`,
    );
    const result = await build(["shared", "-i", second.url], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("shared 2.0");
    expect(result.stderr).toContain(
      `(extra-index-url from ${join(cwd, "pyproject.toml")} [tool.pylayer])`,
    );
  });

  it("an unknown strategy is a usage error naming the three", async () => {
    const result = await build(["shared", "-i", first.url, "--index-strategy", "best"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("first-index, unsafe-first-match, unsafe-best-match");
  });

  it("--help names the strategies and why first-index is the default", async () => {
    const result = await runCli(["build", "--help"]);
    expect(result.stdout).toContain("--index-strategy");
    expect(result.stdout).toMatch(/dependency\s+confusion/);
  });

  it("with an unsafe strategy, an unreachable index fails the lookup even after one that answered (outage policy)", async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}/simple/`;
    const result = await build([
      "shared",
      "--extra-index-url",
      first.url,
      "-i",
      dead,
      "--index-strategy",
      "unsafe-best-match",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[index-unreachable]");
    expect(result.stderr).toContain("--index-strategy unsafe-best-match");
    const allowed = await build([
      "shared",
      "--extra-index-url",
      first.url,
      "-i",
      dead,
      "--index-strategy",
      "unsafe-best-match",
      "--allow-unreachable-index",
      dead,
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain("shared 1.0");
  });
});

describe("a requirement met only on an index the strategy did not consult (point 2)", () => {
  it("says which index has it and names --index-strategy (text and --json)", async () => {
    const args = ["pandas==2.2.3", "--extra-index-url", first.url, "-i", second.url];
    const result = await build(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("No version of pandas satisfies pandas==2.2.3");
    expect(result.stderr).toContain(`${second.url} has pandas 2.2.3`);
    expect(result.stderr).toContain("--index-strategy unsafe-first-match");
    const json = await build([...args, "--json"]);
    const error = JSON.parse(json.stdout).error;
    expect(error.details.unconsultedIndexes).toEqual([{ index: second.url, versions: ["2.2.3"] }]);
  });

  it("says nothing of the kind when no other index has a matching version", async () => {
    const result = await build(["pandas==9.9", "--extra-index-url", first.url, "-i", second.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain("--index-strategy");
  });
});

describe("every index that could have the project unreachable (point 3)", () => {
  it("the headline is about the network, with the index-unreachable code", async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}/simple/`;
    const result = await build(["anything", "-i", dead, "--allow-unreachable-index", dead]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[index-unreachable]");
    expect(result.stderr).toContain(`${dead} could not be reached (ECONNREFUSED)`);
    expect(result.stderr).not.toContain("No project named");
  });

  it("an index that answered without the project is named as not having it", async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}/simple/`;
    const result = await build([
      "requests",
      "--extra-index-url",
      dead,
      "-i",
      first.url,
      "--allow-unreachable-index",
      dead,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[index-unreachable]");
    expect(result.stderr).toContain(`${first.url} does not have it`);
  });
});

describe("project-not-found after a typo (point 14)", () => {
  it("hints the closest project names on the index, from its project list", async () => {
    const result = await build(["reqeusts", "-i", second.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No project named "reqeusts"');
    expect(result.stderr).toContain('Did you mean "requests"?');
  });

  it("gives no names when the index offers no project list, and asks for none again", async () => {
    const folder = await temporaryFolder();
    // A file index with project folders but no root page.
    await mkdir(join(folder, "simple", "requests"), { recursive: true });
    await writeFile(join(folder, "simple", "requests", "index.html"), "<html></html>");
    const result = await build(["reqeusts", "-i", join(folder, "simple")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No project named "reqeusts"');
    expect(result.stderr).not.toContain("Did you mean");
  });
});
