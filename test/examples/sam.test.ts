/**
 * examples/sam as `sam build` runs it: for each resource with `BuildMethod: makefile`, SAM
 * copies the CodeUri/ContentUri folder to a scratch folder and runs
 * `make --makefile <scratch>/Makefile build-<LogicalId>` there with ARTIFACTS_DIR set to
 * .aws-sam/build/<LogicalId> (aws-lambda-builders, custom_make workflow), then zips that
 * folder. The AWS SAM CLI itself cannot be installed on the test machines (no copy on the
 * package mirror, no network), so this runs `make` exactly as SAM does, with `pylayer` on
 * PATH being this repository's built CLI and the packages served by a loopback index.
 */
import { createHash } from "node:crypto";
import { cp, lstat, mkdir, readdir, readFile } from "node:fs/promises";
import { delimiter, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pylayerOnPath, runCli, runProgram } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";
import { requestsWheels } from "./fixtures.js";

const example = fileURLToPath(new URL("../../examples/sam/", import.meta.url));

/** The resources of examples/sam/template.yaml built with `BuildMethod: makefile`. */
const RESOURCES = [
  { logicalId: "DepsLayer", folder: "layers/deps", uriKey: "ContentUri" },
  { logicalId: "ApiFunction", folder: "functions/api", uriKey: "CodeUri" },
] as const;

let server: IndexServer;
let home: string;
let bin: string;

beforeAll(async () => {
  server = await startIndexServer([
    ...requestsWheels(),
    buildWheel({ name: "orjson", version: "3.10.15", tag: "cp312-cp312-manylinux_2_17_x86_64" }),
    buildWheel({ name: "orjson", version: "3.10.15", tag: "cp312-cp312-manylinux_2_17_aarch64" }),
  ]);
  home = await temporaryFolder();
  bin = await pylayerOnPath(join(home, "bin"));
});
afterAll(async () => {
  await server?.close();
});

/** What SAM does for one makefile resource; returns the artifacts folder. */
async function samMakeBuild(logicalId: string, folder: string, project: string) {
  const scratch = await temporaryFolder("sam-scratch-");
  await cp(join(project, folder), scratch, { recursive: true });
  const artifacts = join(project, ".aws-sam", "build", logicalId);
  await mkdir(artifacts, { recursive: true });
  const env = isolatedEnv(home, {
    PATH: `${bin}${delimiter}${process.env.PATH ?? "/usr/bin:/bin"}`,
    PIP_INDEX_URL: server.url,
    ARTIFACTS_DIR: artifacts,
    NO_COLOR: "1",
  });
  const make = await runProgram(
    "make",
    ["--makefile", join(scratch, "Makefile"), `build-${logicalId}`],
    { cwd: scratch, env },
  );
  return { artifacts, scratch, make };
}

/** Path → [mode, sha256] of every file under a folder. */
async function tree(folder: string): Promise<Record<string, [string, string]>> {
  const result: Record<string, [string, string]> = {};
  const walk = async (current: string) => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else {
        const mode = ((await lstat(path)).mode & 0o777).toString(8);
        const digest = createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
        result[relative(folder, path)] = [mode, digest];
      }
    }
  };
  await walk(folder);
  return result;
}

describe("examples/sam through make, as sam build runs it", () => {
  it("declares each makefile resource with a build-<LogicalId> target in its folder", async () => {
    const template = await readFile(join(example, "template.yaml"), "utf8");
    expect(template.match(/BuildMethod: makefile/g)).toHaveLength(RESOURCES.length);
    for (const { logicalId, folder, uriKey } of RESOURCES) {
      expect(template).toMatch(new RegExp(`\\n  ${logicalId}:\\n[^]*?${uriKey}: ${folder}\\n`));
      const makefile = await readFile(join(example, folder, "Makefile"), "utf8");
      expect(makefile).toMatch(new RegExp(`^build-${logicalId}:`, "m"));
    }
  });

  it("writes the layer's files under $(ARTIFACTS_DIR)/python (scripts in bin/), the same files as pylayer's zip", async () => {
    const project = await temporaryFolder("sam-project-");
    await cp(example, project, { recursive: true });
    const { artifacts, scratch, make } = await samMakeBuild("DepsLayer", "layers/deps", project);
    expect(make.code, make.output).toBe(0);
    expect(make.output).toMatch(/extracted \d+ files into/);
    const files = await tree(artifacts);
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining([
        "python/requests/__init__.py",
        "python/requests-2.32.3.dist-info/METADATA",
        "python/urllib3/__init__.py",
        "python/certifi/__init__.py",
      ]),
    );
    // Lambda's layer layout: python/ on sys.path, bin/ on PATH (console scripts, executable).
    expect(Object.keys(files).filter((path) => !/^(python|bin)\//.test(path))).toEqual([]);
    expect(files["python/requests/__init__.py"]?.[0]).toBe("644");
    expect(files["bin/requests-cli"]?.[0]).toBe("755");
    // Nothing left in the code folder: the zip went to a temporary folder.
    expect((await readdir(scratch)).sort()).toEqual(["Makefile", "requirements.txt"]);

    // The same files, modes and bytes as the zip `pylayer build` writes for the same inputs.
    const cwd = await temporaryFolder();
    const built = await runCli(
      [
        "build",
        "-r",
        join(example, "layers/deps/requirements.txt"),
        "--runtime",
        "python3.12",
      ].concat(["--arch", "arm64", "-i", server.url, "-o", "layer.zip"]),
      { cwd, env: isolatedEnv(home) },
    );
    expect(built.code, built.stderr).toBe(0);
    const entries = await unzipFile(join(cwd, "layer.zip"));
    const zipFiles = Object.fromEntries(
      Object.entries(entries)
        .filter(([name]) => !name.endsWith("/"))
        .map(([name, bytes]) => [name, createHash("sha256").update(bytes).digest("hex")]),
    );
    expect(
      Object.fromEntries(Object.entries(files).map(([name, [, hash]]) => [name, hash])),
    ).toEqual(zipFiles);

    // A second sam build (fresh folders, warm cache) produces the same tree.
    const again = await temporaryFolder("sam-project-");
    await cp(example, again, { recursive: true });
    const second = await samMakeBuild("DepsLayer", "layers/deps", again);
    expect(second.make.code, second.make.output).toBe(0);
    expect(await tree(second.artifacts)).toEqual(files);
  });

  it("writes the function's source and its own dependencies at the root of $(ARTIFACTS_DIR)", async () => {
    const project = await temporaryFolder("sam-project-");
    await cp(example, project, { recursive: true });
    const { artifacts, make } = await samMakeBuild("ApiFunction", "functions/api", project);
    expect(make.code, make.output).toBe(0);
    const files = await tree(artifacts);
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining(["app.py", "orjson/__init__.py", "orjson-3.10.15.dist-info/WHEEL"]),
    );
    expect(Object.keys(files)).not.toContain("Makefile");
    // The layer's packages stay in the layer.
    expect(Object.keys(files).some((path) => path.startsWith("requests"))).toBe(false);
    const wheel = await readFile(join(artifacts, "orjson-3.10.15.dist-info/WHEEL"), "utf8");
    expect(wheel).toContain("Tag: cp312-cp312-manylinux_2_17_aarch64");
  });

  it("fails the make target, naming the folder, when ARTIFACTS_DIR is not empty", async () => {
    const project = await temporaryFolder("sam-project-");
    await cp(example, project, { recursive: true });
    const artifacts = join(project, ".aws-sam", "build", "DepsLayer");
    await mkdir(join(artifacts, "python"), { recursive: true });
    const { make } = await samMakeBuild("DepsLayer", "layers/deps", project);
    expect(make.code).not.toBe(0);
    expect(make.output).toContain("the folder is not empty");
  });
});
