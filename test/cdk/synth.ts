/**
 * In-process synthesis for the pylayer/cdk construct tests: a file:// index of test wheels
 * in an isolated environment with no `docker` on PATH (CDK's local bundling runs pylayer
 * with the synth process's environment), one stack per synth, and the asset zip of a
 * Lambda resource read back from the cloud assembly.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { App, AssetStaging, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, expect } from "vitest";
import { writeFileIndex } from "../helpers/index-server.js";
import { pathWithoutDocker } from "../helpers/no-docker.js";
import { isolatedEnv, temporaryFolder, writeTree } from "../helpers/sandbox.js";
import { type BuiltWheel, buildWheel } from "../helpers/wheels.js";

/**
 * The wheels the construct tests build from: greet (two versions, to change a pin) needing
 * colorish, and fastcore with a compiled part for x86_64 and for aarch64.
 */
export function testWheels(): BuiltWheel[] {
  return [
    buildWheel({ name: "greet", version: "1.0", requires: ["colorish>=0.2"] }),
    buildWheel({ name: "greet", version: "1.1", requires: ["colorish>=0.2"] }),
    buildWheel({ name: "colorish", version: "0.3" }),
    buildWheel({ name: "fastcore", version: "2.0", tag: "cp312-cp312-manylinux_2_17_x86_64" }),
    buildWheel({ name: "fastcore", version: "2.0", tag: "cp312-cp312-manylinux_2_17_aarch64" }),
  ];
}

/** A construct's entry folder: `requirements` as requirements.txt, plus `files` (path → text). */
export async function entryFolder(
  requirements: string,
  files: Record<string, string> = {},
): Promise<string> {
  const folder = await temporaryFolder();
  await writeTree(folder, { ...files, "requirements.txt": requirements });
  return folder;
}

interface AssetManifest {
  files: Record<
    string,
    {
      source: { path: string; packaging?: string };
      destinations: Record<string, { objectKey: string }>;
    }
  >;
}

/**
 * Serves `wheels` from a file:// index for the whole test file (CDK runs pylayer with
 * spawnSync, which blocks this process, so an index served from here could not answer) and
 * replaces process.env by an isolated one pointing at it; restored after the file.
 */
export function useSynthEnvironment(wheels: () => BuiltWheel[] = testWheels): void {
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    const home = await temporaryFolder();
    const indexUrl = await writeFileIndex(join(home, "index"), wheels());
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
}

export interface Synthesized {
  template: Template;
  /** The cloud assembly's folder. */
  assembly: string;
}

/** Synthesizes a fresh app with one stack named `stackName`, defined by `define`. */
export async function synthStack(
  stackName: string,
  define: (stack: Stack) => void,
): Promise<Synthesized> {
  // CDK caches staged assets by source and options within a process; each synth here
  // must bundle again, as a new `cdk synth` would.
  AssetStaging.clearAssetHashCache();
  const outdir = await temporaryFolder("pylayer-cdk-out-");
  const app = new App({ outdir });
  const stack = new Stack(app, stackName);
  define(stack);
  const template = Template.fromStack(stack);
  return { template, assembly: app.synth().directory };
}

/**
 * The S3 key and bytes of the asset of the one resource of `type` in the stack
 * (`AWS::Lambda::LayerVersion` keeps it in Content, `AWS::Lambda::Function` in Code),
 * checked to be uploaded as a file (the zip as pylayer wrote it, not zipped again).
 */
export async function assetOf(
  synthesized: Synthesized,
  stackName: string,
  type: LambdaResourceType,
): Promise<{ s3Key: string; zip: Buffer }> {
  const resources = Object.values(synthesized.template.findResources(type));
  expect(resources).toHaveLength(1);
  const properties = resources[0]!.Properties;
  const s3Key = (type === "AWS::Lambda::LayerVersion" ? properties.Content : properties.Code)
    .S3Key as string;
  const manifest = JSON.parse(
    await readFile(join(synthesized.assembly, `${stackName}.assets.json`), "utf8"),
  ) as AssetManifest;
  for (const file of Object.values(manifest.files)) {
    const keys = Object.values(file.destinations).map((destination) => destination.objectKey);
    if (keys.includes(s3Key)) {
      expect(file.source.packaging).toBe("file");
      return { s3Key, zip: await readFile(join(synthesized.assembly, file.source.path)) };
    }
  }
  throw new Error(`no asset uploaded as ${s3Key}`);
}

type LambdaResourceType = "AWS::Lambda::LayerVersion" | "AWS::Lambda::Function";

/** Synthesizes a stack with one resource of `type` defined by `define`; its template and asset. */
export async function synthOne(
  stackName: string,
  type: LambdaResourceType,
  define: (stack: Stack) => void,
): Promise<{ template: Template; s3Key: string; zip: Buffer }> {
  const synthesized = await synthStack(stackName, define);
  return { template: synthesized.template, ...(await assetOf(synthesized, stackName, type)) };
}

/** Entry name → bytes of a zip in memory (fflate, independent of src/zip). */
export function zipEntries(zip: Uint8Array): Record<string, Uint8Array> {
  return unzipSync(zip);
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
