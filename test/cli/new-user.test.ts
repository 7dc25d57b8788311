/**
 * What a new user hits first (issue 18): files of wheels not installed (point 5), a file given
 * as a requirement (point 4), a skipped import test (point 8), a deprecated runtime (point 9)
 * — each said, never silent.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer([
    buildWheel({ name: "greet", version: "1.2", files: { "greet/__init__.py": "HELLO = 1\n" } }),
    buildWheel({
      name: "native-ish",
      version: "2.0",
      files: { "native_ish/__init__.py": "" },
      data: { headers: { "native_ish.h": "int f(void);\n" } },
    }),
  ]);
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

describe("a file given where a requirement goes (point 4)", () => {
  it.each([
    ["requirements.txt", "greet\n", "-r requirements.txt"],
    ["requirements-dev.in", "greet\n", "-r requirements-dev.in"],
    [
      "pyproject.toml",
      '[project]\nname = "x"\nversion = "1"\ndependencies = ["greet"]\n',
      "--pyproject pyproject.toml",
    ],
    ["uv.lock", "version = 1\n", "--lock uv.lock"],
  ])(
    "pylayer build %s says which flag it needs, asking the index nothing",
    async (file, text, flag) => {
      const cwd = await temporaryFolder();
      await writeFile(join(cwd, file), text);
      const before = server.requests.length;
      const result = await runCli(["build", file, "-i", server.url], {
        cwd,
        env: isolatedEnv(home),
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`"${file}" is a file, not a requirement`);
      expect(result.stderr).toContain(`Did you mean ${flag}?`);
      expect(server.requests.length).toBe(before);
    },
  );

  it("a requirement that only looks like a file name is looked up as usual", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(["build", "requirements.txt", "-i", server.url, "--dry-run"], {
      cwd,
      env: isolatedEnv(home),
    });
    expect(result.stderr).not.toContain("is a file");
  });
});

describe("build --check-imports for a target this machine cannot run (point 8)", () => {
  it.skipIf(process.arch !== "x64")("says the import test was skipped and why", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(
      [
        "build",
        "greet",
        "-i",
        server.url,
        "--runtime",
        "python3.12",
        "--arch",
        "arm64",
        "--check-imports",
      ],
      { cwd, env: isolatedEnv(home) },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/the import test for python3\.12-arm64 cannot run here: .+/);
    expect(result.stdout).toContain("[import-test-skipped");
  });
});

describe("a runtime past its deprecation date (point 9)", () => {
  it("warns with the date and the runtime to move to, in the output and in --json", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(
      ["build", "greet", "-i", server.url, "--runtime", "python3.9", "--no-check"],
      { cwd, env: isolatedEnv(home) },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /warning: python3\.9 was deprecated by Lambda on 2025-12-15: .*; move to python3\.\d+ \(--runtime python3\.\d+\)/,
    );
    const json = await runCli(
      ["build", "greet", "-i", server.url, "--runtime", "python3.9", "--dry-run", "--json"],
      { cwd, env: isolatedEnv(home) },
    );
    expect(JSON.parse(json.stdout).warnings).toEqual([
      expect.stringContaining("python3.9 was deprecated by Lambda on 2025-12-15"),
    ]);
  });

  it("says nothing for a supported runtime", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(
      ["build", "greet", "-i", server.url, "--runtime", "python3.13", "--dry-run"],
      { cwd, env: isolatedEnv(home) },
    );
    expect(result.stderr).not.toContain("deprecated");
  });
});

describe("files of a wheel the layer leaves out (point 5)", () => {
  it("are summed up in one warning, listed with -v and in --json", async () => {
    const cwd = await temporaryFolder();
    const plain = await runCli(["build", "native-ish", "-i", server.url, "--no-check"], {
      cwd,
      env: isolatedEnv(home),
    });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(
      /warning: 1 file of the wheels not installed in layer\.zip \(Lambda does not use them: C headers are not needed at run time\); -v or --json lists them/,
    );
    const verbose = await runCli(["build", "native-ish", "-i", server.url, "--no-check", "-v"], {
      cwd,
      env: isolatedEnv(home),
    });
    expect(verbose.stderr).toContain(
      "not installed: native_ish-2.0.data/headers/native_ish.h (native-ish 2.0): C headers are not needed at run time",
    );
    const json = await runCli(["build", "native-ish", "-i", server.url, "--no-check", "--json"], {
      cwd,
      env: isolatedEnv(home),
    });
    const parsed = JSON.parse(json.stdout) as {
      warnings: string[];
      zips: { skipped?: { package: string; path: string; reason: string }[] }[];
    };
    expect(parsed.zips[0]?.skipped).toEqual([
      {
        package: "native-ish 2.0",
        path: "native_ish-2.0.data/headers/native_ish.h",
        reason: "C headers are not needed at run time",
      },
    ]);
    expect(parsed.warnings).toEqual([
      expect.stringContaining("1 file of the wheels not installed"),
    ]);
  });
});
