/**
 * What a new user hits first (issue 18): files of wheels not installed (point 5), a file given
 * as a requirement (point 4), a skipped import test (point 8), a deprecated runtime (point 9)
 * — each said, never silent.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, indexForFile, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const server = await indexForFile([
  buildWheel({ name: "greet", version: "1.2", files: { "greet/__init__.py": "HELLO = 1\n" } }),
  buildWheel({
    name: "native-ish",
    version: "2.0",
    files: { "native_ish/__init__.py": "" },
    data: { headers: { "native_ish.h": "int f(void);\n" } },
  }),
]);
const home = await temporaryFolder();

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

describe("runtime mode takes the same inputs as layer mode (point 6)", () => {
  async function lockedFolder(): Promise<string> {
    const cwd = await temporaryFolder();
    const lock = await runCli(
      ["lock", "greet", "-i", server.url, "--runtime", "python3.11", "--arch", "arm64"],
      { cwd, env: isolatedEnv(home) },
    );
    expect(lock.code, lock.stderr).toBe(0);
    expect(await readFile(join(cwd, "pylock.toml"), "utf8")).toContain("environments");
    return cwd;
  }

  it.each([
    [["build", "--lock", "pylock.toml", "--mode", "runtime"]],
    [["runtime", "--lock", "pylock.toml"]],
    [["runtime"]],
  ])("%j builds for the one target the lock declares", async (args) => {
    const cwd = await lockedFolder();
    const result = await runCli([...args, "-i", server.url, "--json"], {
      cwd,
      env: isolatedEnv(home),
    });
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { target: string; packages: { name: string }[] };
    expect(json.target).toBe("python3.11-arm64");
    expect(json.packages.map((item) => item.name)).toEqual(["greet"]);
  });

  it("--runtime/--arch still choose the target, and runtime --help lists --lock", async () => {
    const cwd = await lockedFolder();
    const result = await runCli(
      [
        "runtime",
        "--lock",
        "pylock.toml",
        "--runtime",
        "python3.11",
        "--arch",
        "arm64",
        "--dry-run",
      ],
      { cwd, env: isolatedEnv(home) },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("python3.11-arm64: 1 packages");
    const help = await runCli(["runtime", "--help"]);
    expect(help.stdout).toContain("--lock FILE");
    expect(help.stdout).toContain("--pyproject FILE");
  });
});

describe("a failed matrix build (point 10)", () => {
  let matrixServer: IndexServer;
  beforeAll(async () => {
    const modern = buildWheel({ name: "modern", version: "1.0" });
    const modernToo = buildWheel({ name: "modern-too", version: "2.0" });
    matrixServer = await startIndexServer(
      [modern, modernToo, buildWheel({ name: "greet", version: "1.2" })],
      { requiresPython: { [modern.filename]: ">=3.12", [modernToo.filename]: ">=3.12" } },
    );
  });
  afterAll(async () => {
    await matrixServer?.close();
  });

  const args = [
    "build",
    "modern",
    "modern-too",
    "greet",
    "--runtime",
    "python3.11",
    "--runtime",
    "python3.12",
    "--runtime",
    "python3.13",
    "--dry-run",
  ];

  it("reports every target's outcome and every unsatisfiable package, exit 1", async () => {
    const result = await runCli([...args, "-i", matrixServer.url], { env: isolatedEnv(home) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Resolution failed for 1 of 3 targets:");
    expect(result.stderr).toContain("python3.12-x86_64: resolved (3 packages)");
    expect(result.stderr).toContain("python3.13-x86_64: resolved (3 packages)");
    expect(result.stderr).toContain("python3.11-x86_64: failed [no-matching-distribution]");
    expect(result.stderr).toContain("cannot be satisfied here: modern, modern-too");
  });

  it("says the same in --json", async () => {
    const result = await runCli([...args, "-i", matrixServer.url, "--json"], {
      env: isolatedEnv(home),
    });
    expect(result.code).toBe(1);
    const error = (JSON.parse(result.stdout) as { error: { details: { targets: unknown[] } } })
      .error;
    expect(error.details.targets).toEqual([
      expect.objectContaining({
        target: "python3.11-x86_64",
        ok: false,
        unsatisfiable: ["modern", "modern-too"],
        error: expect.objectContaining({ code: "no-matching-distribution" }),
      }),
      { target: "python3.12-x86_64", ok: true, packages: 3 },
      { target: "python3.13-x86_64", ok: true, packages: 3 },
    ]);
  });
});

describe("hints name pylayer's own remedy (point 14)", () => {
  it("an sdist-only package excluded from source builds: what to do now that sdists build", async () => {
    const sdistServer = await startIndexServer([], {
      extraFiles: [
        { project: "sdist-only", filename: "sdist_only-1.0.tar.gz", bytes: new Uint8Array(8) },
      ],
    });
    try {
      const result = await runCli(
        ["build", "sdist-only", "--only-binary", "sdist-only", "--dry-run", "-i", sdistServer.url],
        { env: isolatedEnv(home) },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("--only-binary excludes sdist-only from source builds");
      expect(result.stderr).toContain("allow its source build (drop --only-binary for it)");
    } finally {
      await sdistServer.close();
    }
  });
});
