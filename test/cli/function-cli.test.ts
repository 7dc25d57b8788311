/**
 * Function packages through the `pylayer` executable: `build --mode function`, `check
 * FUNCTION.zip --layer …` and `invoke --function FUNCTION.zip`.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findInterpreter } from "../../src/invoke/index.js";
import { findRuntime } from "../../src/runtime/index.js";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, writeTree } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const search = await findInterpreter(findRuntime("python3.12"));
const PYTHON = search.interpreter?.path;

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer([
    buildWheel({ name: "helper", version: "1.0" }),
    buildWheel({ name: "helper", version: "2.0" }),
  ]);
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

const APP = {
  "app.py":
    "import helper\n\ndef handler(event, context):\n    return {'helper': helper.__version__, 'name': event.get('name')}\n",
  "requirements.txt": "helper==2.0\n",
  "tests/test_app.py": "",
  ".git/HEAD": "ref: refs/heads/main\n",
};

const build = (cwd: string, args: string[]) =>
  runCli(["build", "--runtime", "python3.12", "-i", server.url, ...args], {
    cwd,
    env: isolatedEnv(home),
  });

describe("pylayer build --mode function", () => {
  it("writes function.zip from the source folder and its requirements, and checks it", async () => {
    const cwd = await temporaryFolder();
    await writeTree(join(cwd, "src"), APP);
    const flags = ["--source", "src", "--handler", "app.handler", "--source-exclude", "tests"];
    const result = await build(cwd, ["--mode", "function", ...flags]);
    expect(result.stderr).toContain("found in the function source");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("helper 2.0");
    expect(result.stdout).toMatch(/wrote function\.zip/);
    expect(result.stdout).toContain("function: 2 source files from src");
    expect(result.stdout).toContain("handler app.handler");
    // The same build with --json, in another folder: same bytes, and the report says what it is.
    const other = await temporaryFolder();
    await writeTree(join(other, "src"), APP);
    // --source alone implies --mode function.
    const json = await build(other, [...flags, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.zips[0].layout).toBe("function");
    expect(report.zips[0].function).toMatchObject({ handler: "app.handler", files: 2 });
    expect(report.checks[0]).toMatchObject({ kind: "function", ok: true });
    const digest = async (path: string) =>
      createHash("sha256")
        .update(await readFile(path))
        .digest("hex");
    expect(await digest(join(other, "function.zip"))).toBe(await digest(join(cwd, "function.zip")));
    expect(report.zips[0].sha256).toBe(await digest(join(cwd, "function.zip")));
  });

  it("fails with the shadowing error, and on flags that do not go with --mode function", async () => {
    const cwd = await temporaryFolder();
    await writeTree(cwd, { ...APP, "helper.py": "# mine\n" });
    const shadowed = await build(cwd, ["--mode", "function", "--handler", "app.handler"]);
    expect(shadowed.code).toBe(1);
    expect(shadowed.stderr).toContain("source-shadows-dependency");
    expect(shadowed.stderr).toContain("helper.py (module helper, also installed by helper 2.0)");
    const wrongMode = await build(cwd, ["--mode", "layer", "--source", "."]);
    expect(wrongMode.code).toBe(2);
    expect(wrongMode.stderr).toContain("--source is for function packages, not --mode layer");
    const publish = await build(cwd, ["--mode", "function", "--publish", "name"]);
    expect(publish.code).toBe(2);
    expect(publish.stderr).toContain("--publish publishes layers");
    for (const flag of [["--slim"], ["--slim-pattern", "*.md"], ["--compile"]]) {
      const refused = await build(cwd, ["--mode", "function", ...flag]);
      expect(refused.code, flag.join(" ")).toBe(2);
      expect(refused.stderr).toContain("--slim, --slim-pattern and --compile work on layers only");
    }
    const help = await runCli(["build", "--help"]);
    expect(help.stdout).toContain("--source-exclude");
    expect(help.stdout).toContain("--mode function");
  });

  it("checks a function with its layers, and exits 1 for a named handler that is missing", async () => {
    const cwd = await temporaryFolder();
    await writeTree(join(cwd, "src"), APP);
    expect((await build(cwd, ["--source", "src", "--handler", "app.handler"])).code).toBe(0);
    expect((await build(cwd, ["helper==1.0", "-o", "layer.zip"])).code).toBe(0);
    const checked = await runCli(
      ["check", "function.zip", "--layer", "layer.zip", "--no-import-test", "--json"],
      { cwd, env: isolatedEnv(home) },
    );
    expect(checked.code, checked.stderr).toBe(0);
    const report = JSON.parse(checked.stdout);
    expect(report.layers).toEqual(["layer.zip"]);
    const skew = report.findings.find(
      (finding: { code: string }) => finding.code === "version-skew",
    );
    expect(skew.details.winner).toEqual({
      version: "2.0",
      place: "the function",
      folder: "/var/task",
    });
    const text = await runCli(
      ["check", "function.zip", "--layer", "layer.zip", "--no-import-test"],
      {
        cwd,
        env: isolatedEnv(home),
      },
    );
    expect(text.stdout).toContain("2.0 from the function wins");
    const missing = await runCli(
      ["check", "function.zip", "--handler", "service.handler", "--no-import-test"],
      { cwd, env: isolatedEnv(home) },
    );
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("handler-not-found");
    expect(missing.stdout).toContain("the function would fail on python3.12-x86_64");
  });

  it.skipIf(PYTHON === undefined)(
    "invokes a function package with its layers (skipped without a local python3.12)",
    async () => {
      const cwd = await temporaryFolder();
      await writeTree(cwd, {
        "lambda_function.py":
          "import helper\n\ndef lambda_handler(event, context):\n    return {'helper': helper.__version__}\n",
      });
      expect((await build(cwd, ["--mode", "function", "-o", "plain.zip"])).code).toBe(0);
      expect((await build(cwd, ["helper==1.0", "-o", "layer.zip"])).code).toBe(0);
      // Lambda's default handler, lambda_function.lambda_handler, when none is named.
      const result = await runCli(
        ["invoke", "--function", "plain.zip", "--layer", "layer.zip", "--runtime", "python3.12"],
        { cwd, env: process.env },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ helper: "1.0" });
    },
  );
});
