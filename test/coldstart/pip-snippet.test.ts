/**
 * The hardened pip snippet: valid Python with the resolved pins and hashes, and run for
 * real by python3.11's pip against the loopback index.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PipSnippetResult, pipSnippet, renderPipSnippet } from "../../src/coldstart/index.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { type BuiltWheel, writeWheels } from "../helpers/wheels.js";
import { DEMO_WHEELS } from "./fixtures.js";
import { requirePython, runPython } from "./helpers.js";

const python = requirePython("3.11");
const hasPip = python !== undefined && spawnSync(python, ["-m", "pip", "--version"]).status === 0;

let root: string;
let wheels: BuiltWheel[];
let server: IndexServer;
let result: PipSnippetResult;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pylayer-pip-snippet-"));
  wheels = await writeWheels(join(root, "wheels"), DEMO_WHEELS);
  server = await startIndexServer(wheels);
  result = await pipSnippet({
    requirements: ["demo"],
    runtimes: ["python3.11"],
    index: { indexUrl: server.url },
    noCache: true,
    env: { PIP_CONFIG_FILE: "/dev/null" },
    cwd: root,
  });
});

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

function hashOf(name: string): string {
  return wheels.find((wheel) => wheel.spec.name === name)!.sha256;
}

/** Compiles Python source with python3.11 without running it; returns the error text. */
function compileError(source: string): string {
  const check = spawnSync(
    python!,
    ["-c", "import sys; compile(sys.stdin.read(), 'snippet.py', 'exec')"],
    {
      input: source,
      encoding: "utf8",
    },
  );
  return check.status === 0 ? "" : check.stderr;
}

describe("pipSnippet", () => {
  it("pins every resolved wheel with its sha256", () => {
    expect(result.target).toBe("python3.11-x86_64");
    expect(result.pins).toEqual([
      { name: "demo", version: "1.0", sha256: hashOf("demo") },
      { name: "helper", version: "2.1", sha256: hashOf("helper") },
    ]);
    expect(result.snippet).toContain(`"demo==1.0 --hash=sha256:${hashOf("demo")}\\n"`);
    expect(result.snippet).toContain(`"helper==2.1 --hash=sha256:${hashOf("helper")}\\n"`);
  });

  it("spells out pip's flags for the target, including every manylinux tag up to its glibc", () => {
    const { snippet } = result;
    for (const flag of [
      '"--no-deps"',
      '"--only-binary=:all:"',
      '"--require-hashes"',
      '"--implementation",\n                "cp"',
      '"--python-version",\n                "3.11"',
      `"--index-url",\n                "${server.url}"`,
    ]) {
      expect(snippet).toContain(flag);
    }
    // python3.11 runs on Amazon Linux 2 (glibc 2.26): manylinux_2_26 is the newest tag.
    expect(snippet).toContain('"--platform",\n                "manylinux_2_26_x86_64"');
    expect(snippet).toContain('"--platform",\n                "manylinux_2_17_x86_64"');
    expect(snippet).toContain('"--platform",\n                "manylinux2014_x86_64"');
    expect(snippet).toContain('"--platform",\n                "manylinux1_x86_64"');
    expect(snippet).not.toContain("manylinux_2_27_x86_64");
  });

  it.skipIf(python === undefined)("is valid Python", () => {
    expect(compileError(result.snippet)).toBe("");
  });

  it("leaves an index URL with credentials out of the snippet, with a warning", async () => {
    const withCredentials = await pipSnippet({
      requirements: ["demo"],
      runtimes: ["python3.12"],
      index: { indexUrl: server.url.replace("http://", "http://user:secret@") },
      noCache: true,
      env: { PIP_CONFIG_FILE: "/dev/null" },
      cwd: root,
    }).catch((error: unknown) => error);
    // The loopback index does not ask for credentials; resolution succeeds.
    const snippetResult = withCredentials as PipSnippetResult;
    expect(snippetResult.snippet).not.toContain("secret");
    expect(snippetResult.snippet).not.toContain("--index-url");
    expect(snippetResult.snippet).toContain('"manylinux_2_34_x86_64"');
    expect(snippetResult.warnings.join("\n")).toContain("it carries credentials");
  });
});

describe.skipIf(!hasPip)("the snippet run by real pip (python3.11)", () => {
  const handler = (snippet: string) =>
    `${snippet}\nimport demo\nprint(demo.VALUE)\nprint(demo.__file__)\n`;
  const env = (tmp: string) => ({
    PYLAYER_TMP: tmp,
    PIP_CONFIG_FILE: "/dev/null",
    PIP_NO_INPUT: "1",
    LAMBDA_TASK_ROOT: root,
  });

  it("installs the pins into a hashed folder on the first run and reuses it on the next", async () => {
    const tmp = await mkdtemp(join(root, "tmp-"));
    const script = join(root, "handler.py");
    await writeFile(script, handler(result.snippet));
    const first = await runPython(python!, script, root, env(tmp));
    expect(first.code, first.stderr).toBe(0);
    const [value, file] = first.stdout.trim().split("\n");
    expect(value).toBe("demo helper 2.1");
    const [folder] = await readdir(join(tmp, "pylayer-pip"));
    expect(folder).toMatch(/^[0-9a-f]{16}$/);
    expect(file).toBe(join(tmp, "pylayer-pip", folder!, "demo", "__init__.py"));

    // The warm start reuses the folder: pip does not run, the index sees no request.
    const requestsBefore = server.requests.length;
    const second = await runPython(python!, script, root, env(tmp));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim().split("\n")[0]).toBe("demo helper 2.1");
    expect(server.requests.length).toBe(requestsBefore);
    expect(await readdir(join(tmp, "pylayer-pip"))).toEqual([folder]);
  });

  it("raises with pip's stderr when a hash does not match, and keeps no folder", async () => {
    const tmp = await mkdtemp(join(root, "tmp-"));
    const script = join(root, "bad-handler.py");
    const snippet = renderPipSnippet({
      targetId: "python3.11-x86_64",
      pythonVersion: "3.11",
      platforms: ["manylinux_2_17_x86_64"],
      pins: [
        { name: "demo", version: "1.0", sha256: "0".repeat(64) },
        { name: "helper", version: "2.1", sha256: hashOf("helper") },
      ],
      indexUrl: server.url,
    });
    await writeFile(script, handler(snippet));
    const run = await runPython(python!, script, root, env(tmp));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      "RuntimeError: pip install of the pinned wheels failed (exit code 1):",
    );
    expect(run.stderr).toContain("THESE PACKAGES DO NOT MATCH THE HASHES");
    expect(await readdir(join(tmp, "pylayer-pip"))).toEqual([]);
  });
});
