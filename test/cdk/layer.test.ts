/**
 * `PythonLayerVersion` from `pylayer/cdk`: stacks synthesized in-process with aws-cdk-lib and
 * asserted with `Template.fromStack`; the asset in the cloud assembly is compared with what
 * `pylayer build` writes. No `docker` executable is on PATH in this file.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { App, AssetStaging, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PythonLayerVersion, type PythonLayerVersionProps } from "../../src/cdk/index.js";
import { runCli } from "../helpers/cli.js";
import { writeFileIndex } from "../helpers/index-server.js";
import { dockerOnPath, pathWithoutDocker } from "../helpers/no-docker.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

let home: string;

interface AssetManifest {
  files: Record<
    string,
    {
      source: { path: string; packaging?: string };
      destinations: Record<string, { objectKey: string }>;
    }
  >;
}
const savedEnv = { ...process.env };

beforeAll(async () => {
  // A file:// index: CDK runs pylayer with spawnSync, which blocks this process, so an
  // index served from here could not answer.
  home = await temporaryFolder();
  const indexUrl = await writeFileIndex(join(home, "index"), [
    buildWheel({ name: "greet", version: "1.0", requires: ["colorish>=0.2"] }),
    buildWheel({ name: "greet", version: "1.1", requires: ["colorish>=0.2"] }),
    buildWheel({ name: "colorish", version: "0.3" }),
    buildWheel({ name: "fastcore", version: "2.0", tag: "cp312-cp312-manylinux_2_17_x86_64" }),
    buildWheel({ name: "fastcore", version: "2.0", tag: "cp312-cp312-manylinux_2_17_aarch64" }),
  ]);
  // CDK's local bundling runs pylayer with the synth process's environment.
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(
    process.env,
    isolatedEnv(home, {
      PATH: pathWithoutDocker(),
      PIP_INDEX_URL: indexUrl,
      // CDK's CloudFormation validation costs ~15 s on the first synth of a process and
      // checks nothing pylayer makes; the example app's test keeps it.
      CDK_VALIDATION: "false",
    }),
  );
});
afterAll(() => {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

async function projectFolder(requirements: string): Promise<string> {
  const folder = await temporaryFolder();
  await writeFile(join(folder, "requirements.txt"), requirements);
  return folder;
}

/** Synthesizes one stack with a layer; returns its template and the layer's asset zip. */
async function synthLayer(props: PythonLayerVersionProps) {
  AssetStaging.clearAssetHashCache();
  const outdir = await temporaryFolder("pylayer-cdk-out-");
  const app = new App({ outdir });
  const stack = new Stack(app, "LayerStack");
  new PythonLayerVersion(stack, "Deps", props);
  const template = Template.fromStack(stack);
  const assembly = app.synth();
  const [layer] = Object.values(template.findResources("AWS::Lambda::LayerVersion"));
  const s3Key = layer?.Properties.Content.S3Key as string;
  const zip = await readFile(await assetPath(assembly.directory, "LayerStack", s3Key));
  return { template, s3Key, zip };
}

/** The file of the asset uploaded as `s3Key`, from the stack's asset manifest. */
async function assetPath(assemblyFolder: string, stackName: string, s3Key: string) {
  const manifest = JSON.parse(
    await readFile(join(assemblyFolder, `${stackName}.assets.json`), "utf8"),
  ) as AssetManifest;
  for (const file of Object.values(manifest.files)) {
    const keys = Object.values(file.destinations).map((destination) => destination.objectKey);
    if (keys.includes(s3Key)) {
      expect(file.source.packaging).toBe("file");
      return join(assemblyFolder, file.source.path);
    }
  }
  throw new Error(`no asset uploaded as ${s3Key}`);
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("PythonLayerVersion", () => {
  it("runs with no docker on PATH", () => {
    expect(dockerOnPath(process.env.PATH ?? "")).toBe(false);
  });

  it("synthesizes a layer whose asset is the zip pylayer build writes, with a stable hash", async () => {
    const entry = await projectFolder("greet==1.0\n");
    const props: PythonLayerVersionProps = {
      entry,
      compatibleRuntimes: [Runtime.PYTHON_3_12, Runtime.PYTHON_3_13],
      compatibleArchitectures: [Architecture.X86_64, Architecture.ARM_64],
      description: "greet and colorish",
    };
    const first = await synthLayer(props);
    first.template.hasResourceProperties("AWS::Lambda::LayerVersion", {
      CompatibleRuntimes: ["python3.12", "python3.13"],
      CompatibleArchitectures: ["x86_64", "arm64"],
      Description: "greet and colorish",
    });
    expect(first.s3Key).toMatch(/^[0-9a-f]{64}\.zip$/);

    // The same bytes as the CLI writes for the same inputs (one universal pure-Python zip).
    const cliZip = join(await temporaryFolder(), "layer.zip");
    const cli = await runCli(
      [
        "build",
        "--runtime=python3.12",
        "--runtime=python3.13",
        "--arch=x86_64",
        "--arch=arm64",
        "-o",
        cliZip,
      ],
      { cwd: entry, env: process.env },
    );
    expect(cli.stderr).not.toContain("error");
    expect(cli.code).toBe(0);
    expect(sha256(first.zip)).toBe(sha256(await readFile(cliZip)));
    const entries = await unzipFile(cliZip);
    expect(Object.keys(entries)).toContain("python/greet/__init__.py");

    // A second synth of unchanged inputs: the same asset; one pin changed: a new one.
    const second = await synthLayer(props);
    expect(second.s3Key).toBe(first.s3Key);
    await writeFile(join(entry, "requirements.txt"), "greet==1.1\n");
    const changed = await synthLayer(props);
    expect(changed.s3Key).not.toBe(first.s3Key);
  });

  it("gives an arm64 layer aarch64 wheels", async () => {
    const entry = await projectFolder("fastcore==2.0\n");
    const { template, zip } = await synthLayer({
      entry,
      compatibleRuntimes: [Runtime.PYTHON_3_12],
      compatibleArchitectures: [Architecture.ARM_64],
    });
    template.hasResourceProperties("AWS::Lambda::LayerVersion", {
      CompatibleArchitectures: ["arm64"],
    });
    const folder = await temporaryFolder();
    await writeFile(join(folder, "layer.zip"), zip);
    const wheelFile = new TextDecoder().decode(
      (await unzipFile(join(folder, "layer.zip")))["python/fastcore-2.0.dist-info/WHEEL"],
    );
    expect(wheelFile).toContain("Tag: cp312-cp312-manylinux_2_17_aarch64");
  });

  it("takes pylayer's options in bundling (a requirements file, excludes, slim)", async () => {
    const entry = await projectFolder("greet==1.0\n");
    await mkdir(join(entry, "deps"));
    await writeFile(join(entry, "deps", "layer.txt"), "greet==1.1\n");
    const { zip } = await synthLayer({
      entry,
      bundling: { requirementFiles: ["deps/layer.txt"], exclude: ["colorish"], slim: true },
    });
    const folder = await temporaryFolder();
    await writeFile(join(folder, "layer.zip"), zip);
    const names = Object.keys(await unzipFile(join(folder, "layer.zip")));
    expect(names).toContain("python/greet-1.1.dist-info/METADATA");
    expect(names.some((name) => name.startsWith("python/colorish"))).toBe(false);
  });

  it("fails the synth when runtimes need different wheels, with a hint to split the layer", async () => {
    const entry = await projectFolder("fastcore==2.0\n");
    await expect(
      synthLayer({
        entry,
        compatibleRuntimes: [Runtime.PYTHON_3_12],
        compatibleArchitectures: [Architecture.X86_64, Architecture.ARM_64],
      }),
    ).rejects.toThrow(/cdk-several-zips[\s\S]*one PythonLayerVersion per runtime and architecture/);
  });

  it("fails the synth with pylayer's code, message and hint", async () => {
    const entry = await projectFolder("no-such-package==1.0\n");
    const failure = synthLayer({ entry });
    await expect(failure).rejects.toThrow(/Failed to bundle asset LayerStack\/Deps/);
    await expect(failure).rejects.toThrow(/\[[a-z-]+\]: .*no-such-package[\s\S]*hint: /);
  });

  it("refuses a runtime that is not Python, or one pylayer does not build for", async () => {
    const entry = await projectFolder("greet==1.0\n");
    await expect(synthLayer({ entry, compatibleRuntimes: [Runtime.NODEJS_22_X] })).rejects.toThrow(
      "nodejs22.x is not a Python runtime",
    );
    await expect(synthLayer({ entry, compatibleRuntimes: [Runtime.PYTHON_3_8] })).rejects.toThrow(
      "python3.8 is not a runtime pylayer builds for",
    );
  });
});
