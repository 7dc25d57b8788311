/** The `pylayer` executable as a user runs it: exit codes, output streams, --json, hints. */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer(
    [
      buildWheel({
        name: "greet",
        version: "1.2",
        requires: ["colorish>=0.2"],
        consoleScripts: { greet: "greet:main" },
        files: {
          "greet/__init__.py":
            "import colorish\n\ndef main():\n    print('hello from greet', colorish.VALUE)\n    return 0\n",
        },
      }),
      buildWheel({
        name: "colorish",
        version: "0.3",
        files: { "colorish/__init__.py": "VALUE = 42\n" },
      }),
      buildWheel({ name: "broken", version: "1.0", tag: "cp311-cp311-manylinux_2_28_x86_64" }),
    ],
    { auth: { username: "alice", password: "s3cret-token" } },
  );
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

const indexUrl = () => server.url.replace("http://", "http://alice:s3cret-token@");

describe("pylayer CLI", () => {
  it("prints help with examples, and its version", async () => {
    const help = await runCli(["build", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Examples:");
    expect(help.stdout).toContain("--exclude-runtime-provided");
    const top = await runCli(["--help"]);
    expect(top.stdout).toContain("Commands:");
    const version = await runCli(["--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("exits 2 with a hint on a usage error", async () => {
    const result = await runCli(["build", "--runtme", "python3.12"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option --runtme");
    expect(result.stderr).toContain("Did you mean --runtime?");
    const unknownRuntime = await runCli(["build", "x", "--runtime", "python2.7"], {
      env: isolatedEnv(home),
    });
    expect(unknownRuntime.code).toBe(2);
    expect(unknownRuntime.stderr).toContain("python3.9, python3.10");
  });

  it("builds a layer and reports it on stdout; nothing but results on stdout", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(["build", "greet", "--runtime", "python3.11", "-i", indexUrl()], {
      cwd,
      env: isolatedEnv(home),
    });
    expect(result.stderr).not.toContain("\u001b["); // no progress or colour codes off a TTY
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("greet 1.2");
    expect(result.stdout).toMatch(/wrote layer\.zip/);
    expect(existsSync(join(cwd, "layer.zip"))).toBe(true);
  });

  it("prints a machine-readable result with --json", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(
      ["build", "greet", "--json", "-o", "out/greet.zip", "-i", indexUrl()],
      {
        cwd,
        env: isolatedEnv(home),
      },
    );
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    const zip = output.zips[0];
    expect(zip).toMatchObject({
      path: join(cwd, "out/greet.zip"),
      targets: ["python3.12-x86_64"],
      packages: [
        {
          name: "colorish",
          version: "0.3",
          wheel: "colorish-0.3-py3-none-any.whl",
          tag: "py3-none-any",
        },
        { name: "greet", version: "1.2", wheel: "greet-1.2-py3-none-any.whl", tag: "py3-none-any" },
      ],
    });
    const bytes = await readFile(zip.path);
    expect(zip.size).toBe(bytes.length);
    expect(typeof zip.unzippedSize).toBe("number");
    expect(zip.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(zip.sha256Base64, "base64").toString("hex")).toBe(zip.sha256);
    expect(result.stdout).not.toContain("s3cret-token");
  });

  it("exits 1 with the reason and a hint when nothing fits, never showing credentials", async () => {
    const result = await runCli(["build", "broken", "--runtime", "python3.11", "-i", indexUrl()], {
      env: isolatedEnv(home),
      cwd: await temporaryFolder(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error:");
    expect(result.stderr).toContain("manylinux_2_28 needs glibc 2.28, python3.11 has 2.26");
    expect(result.stderr).toContain("hint:");
    const missing = await runCli(["build", "no-such-project", "-i", indexUrl()], {
      env: isolatedEnv(home),
      cwd: await temporaryFolder(),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no-such-project");
    expect(missing.stderr).not.toContain("s3cret-token");
    const json = await runCli(
      ["build", "broken", "--runtime", "python3.11", "--json", "-i", indexUrl()],
      {
        env: isolatedEnv(home),
        cwd: await temporaryFolder(),
      },
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      error: { code: "no-matching-distribution" },
    });
  });

  it("colours only when allowed: FORCE_COLOR on, NO_COLOR off", async () => {
    const args = ["build", "broken", "--runtime", "python3.11", "-i", indexUrl()];
    const colored = await runCli(args, {
      env: isolatedEnv(home, { FORCE_COLOR: "1" }),
      cwd: await temporaryFolder(),
    });
    expect(colored.stderr).toContain("\u001b[31merror:");
    const plain = await runCli(args, {
      env: isolatedEnv(home, { FORCE_COLOR: "1", NO_COLOR: "1" }),
      cwd: await temporaryFolder(),
    });
    expect(plain.stderr).not.toContain("\u001b[");
  });

  it("--dry-run prints the plan and writes nothing", async () => {
    const cwd = await temporaryFolder();
    const result = await runCli(["build", "greet", "--dry-run", "-i", indexUrl()], {
      cwd,
      env: isolatedEnv(home),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("would write layer.zip");
    expect(existsSync(join(cwd, "layer.zip"))).toBe(false);
  });
});

// The layer works in a real interpreter laid out like Lambda: /opt/python on sys.path after
// the task root, console scripts in /opt/bin run as subprocesses without the layer on PYTHONPATH.
function findPython311(): string | undefined {
  try {
    return execFileSync("python3.11", ["-c", "import sys; print(sys.executable)"], {
      encoding: "utf8",
    }).trim();
  } catch {
    return undefined;
  }
}
const python311 = findPython311();
if (python311 === undefined) {
  if (process.env.PYLAYER_CI === "1")
    throw new Error("python3.11 is required on CI for the import test");
  console.warn("skipping the python3.11 import test: no python3.11 on PATH");
}

describe.skipIf(python311 === undefined)("import with a real python3.11", () => {
  it("imports the layer's packages with Lambda's search path and runs its console script", async () => {
    const cwd = await temporaryFolder();
    const built = await runCli(
      ["build", "greet", "--runtime", "python3.11", "-o", "layer.zip", "-i", indexUrl()],
      {
        cwd,
        env: isolatedEnv(home),
      },
    );
    expect(built.code).toBe(0);
    const opt = join(cwd, "opt");
    await mkdir(opt);
    execFileSync("python3.11", ["-m", "zipfile", "-e", join(cwd, "layer.zip"), opt]);
    const program = [
      "import sys",
      `sys.path[:0] = ['${cwd}/task', '${opt}/python/lib/python3.11/site-packages', '${opt}/python']`,
      "import greet, colorish",
      "print(greet.__file__, colorish.VALUE)",
    ].join("\n");
    const output = execFileSync(python311!, ["-I", "-c", program], { encoding: "utf8" });
    expect(output).toContain(`${opt}/python/greet/__init__.py 42`);
    // zipfile -e does not restore modes; Lambda does. Restore the executable bit ourselves.
    execFileSync("chmod", ["0755", join(opt, "bin/greet")]);
    const script = execFileSync(join(opt, "bin/greet"), [], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, PYTHONPATH: "/var/runtime", PYLAYER_PYTHON: python311! },
      cwd: "/",
    });
    expect(script.trim()).toBe("hello from greet 42");
  });
});
