/** `pylayer runtime` and `pylayer build --mode runtime`, through the command modules. */
import { access, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandArgs } from "../../src/cli/args.js";
import * as build from "../../src/cli/commands/build.js";
import * as runtime from "../../src/cli/commands/runtime.js";
import { COMMANDS, type CommandModule } from "../../src/cli/main.js";
import { Ui } from "../../src/cli/ui.js";
import { writeWheels } from "../helpers/wheels.js";
import { DEMO_WHEELS } from "./fixtures.js";

let root: string;
let wheelDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pylayer-runtime-cli-"));
  wheelDir = join(root, "wheels");
  await writeWheels(wheelDir, DEMO_WHEELS);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function runCommand(module: CommandModule, argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { values, positionals } = parseCommandArgs(module.spec, argv);
  const ui = new Ui({
    json: values.json === true,
    quiet: false,
    verbose: false,
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    env: {},
  });
  const code = await module.run({
    values,
    positionals,
    ui,
    env: { PIP_CONFIG_FILE: "/dev/null" },
    cwd: root,
  });
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

const source = ["demo", "--no-index", "--find-links", "WHEELS", "--no-cache"];
const args = (...extra: string[]) => [
  ...source.map((item) => (item === "WHEELS" ? wheelDir : item)),
  ...extra,
];

describe("pylayer runtime", () => {
  it("is registered in the command table", async () => {
    expect(COMMANDS.runtime).toBeDefined();
    expect((await COMMANDS.runtime!.load()).spec.name).toBe("runtime");
  });

  it("writes the archive and the module into -o and reports them as JSON", async () => {
    const output = join(root, "out-runtime");
    const result = await runCommand(
      runtime,
      args("--runtime", "python3.13", "-o", output, "--archive-s3", "s3://bucket/deps/", "--json"),
    );
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.target).toBe("python3.13-x86_64");
    expect(report.module).toBe(join(output, "pylayer_runtime.py"));
    expect(report.sources).toEqual([
      report.archive.name,
      `s3://bucket/deps/${report.archive.name}`,
    ]);
    expect((await readdir(output)).sort()).toEqual([report.archive.name, "pylayer_runtime.py"]);
  });

  it("prints what it wrote for people", async () => {
    const result = await runCommand(runtime, args("-o", join(root, "out-text")));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^python3\.12-x86_64: 2 packages\n {2}demo 1\.0/);
    expect(result.stdout).toMatch(/wrote out-text\/deps-[0-9a-f]{16}\.zip/);
    expect(result.stdout).toContain("wrote out-text/pylayer_runtime.py");
    expect(result.stderr).toContain('start the handler module with "import pylayer_runtime"');
  });

  it("prints the pip snippet with --pip-snippet", async () => {
    const result = await runCommand(runtime, args("--pip-snippet", "--runtime", "python3.12"));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# Installs 2 pinned wheels for python3\.12-x86_64/);
    expect(result.stdout).toContain("demo==1.0 --hash=sha256:");
    expect(result.stdout).toContain("_pylayer_pip_install()\ndel _pylayer_pip_install\n");
  });

  it.each([
    [["--runtime", "python3.11", "--runtime", "python3.12"], /one runtime and one architecture/],
    [["--layout", "site-packages"], /unknown option --layout/],
    [["--pip-snippet", "--archive-s3", "s3://b/k"], /--archive-s3 does not apply/],
    [["--archive-s3", "https://b/k"], /is not an S3 location/],
  ])("refuses %j", async (extra, message) => {
    await expect(runCommand(runtime, args(...extra))).rejects.toThrow(message);
  });
});

describe("pylayer build --mode", () => {
  it("runtime writes the same bundle as pylayer runtime", async () => {
    const output = join(root, "out-build");
    const result = await runCommand(build, args("--mode", "runtime", "-o", output, "--json"));
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    await access(join(output, "pylayer_runtime.py"));
    await access(join(output, report.archive.name));
    const direct = await runCommand(runtime, args("-o", join(root, "out-direct"), "--json"));
    expect(JSON.parse(direct.stdout).archive.sha256).toBe(report.archive.sha256);
  });

  it("runtime refuses a layout, which runtime mode fixes", async () => {
    await expect(
      runCommand(build, args("--mode", "runtime", "--layout", "site-packages")),
    ).rejects.toThrow(/always uses the python layout/);
  });

  it("runtime refuses --compile: /tmp is writable and Python caches bytecode there", async () => {
    await expect(runCommand(build, args("--mode", "runtime", "--compile"))).rejects.toThrow(
      /runtime mode does not take --compile/,
    );
    await expect(runCommand(runtime, args("--compile"))).rejects.toThrow(
      /unknown option --compile/,
    );
  });

  it("layer stays the default, and other modes are refused", async () => {
    const layer = await runCommand(build, args("-o", join(root, "layer.zip"), "--json"));
    expect(layer.code).toBe(0);
    expect(JSON.parse(layer.stdout).zips[0].path).toBe(join(root, "layer.zip"));
    await expect(runCommand(build, args("--mode", "tmp"))).rejects.toThrow(
      /--mode tmp is not a mode/,
    );
  });
});
