/**
 * examples/cdk as a user runs it: the real `cdk` CLI (the aws-cdk dev dependency) synthesizes
 * the app, whose functions and layer pylayer builds from a loopback index (PIP_INDEX_URL; the uv.lock's
 * URLs are pointed at it), with no `docker` on PATH. The shared layer's asset is then
 * published to the AWS emulator and checked, to show it is a valid layer.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetLayerVersionCommand } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishLayer } from "../../src/index.js";
import { lambdaClient, motoOptions, uniqueName } from "../aws/moto.js";
import { type CliResult, runCli, runProcess } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { motoForFile } from "../helpers/moto.js";
import { pathWithoutDocker } from "../helpers/no-docker.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { type BuiltWheel, buildWheel } from "../helpers/wheels.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const moto = await motoForFile();

let server: IndexServer;
let app: string;
let outdir: string;
let synth: CliResult;

interface AssetManifest {
  files: Record<
    string,
    { source: { path: string }; destinations: Record<string, { objectKey: string }> }
  >;
}
interface Template {
  Resources: Record<
    string,
    {
      Type: string;
      Properties: {
        Content?: { S3Key: string };
        Code?: { S3Key: string };
        Architectures?: string[];
        Handler?: string;
        Runtime?: string;
        Layers?: unknown[];
      };
    }
  >;
}

/** Points the uv.lock's wheel URLs at the loopback index, with the test wheels' hashes and sizes. */
function pointLockAt(lock: string, wheels: BuiltWheel[], filesUrl: string): string {
  return lock.replace(
    /\{ url = "https:\/\/files\.pythonhosted\.org\/[^"]*\/([^"/]+\.whl)", hash = "[^"]*", size = \d+ \}/g,
    (line, filename: string) => {
      const wheel = wheels.find((item) => item.filename === filename);
      if (wheel === undefined) return line;
      return `{ url = "${filesUrl}${filename}", hash = "sha256:${wheel.sha256}", size = ${wheel.bytes.length} }`;
    },
  );
}

beforeAll(async () => {
  const lockedWheels = [
    buildWheel({
      name: "python-dateutil",
      version: "2.9.0.post0",
      tag: "py2.py3-none-any",
      requires: ["six>=1.5"],
      files: {
        "dateutil/__init__.py": "",
        "dateutil/parser.py": "def isoparse(text):\n    return text\n",
      },
    }),
    buildWheel({
      name: "six",
      version: "1.17.0",
      tag: "py2.py3-none-any",
      files: { "six.py": "" },
    }),
  ];
  server = await startIndexServer([
    buildWheel({
      name: "requests",
      version: "2.32.3",
      requires: [
        "charset-normalizer<4,>=2",
        "idna<4,>=2.5",
        "urllib3<3,>=1.21.1",
        "certifi>=2017.4.17",
      ],
    }),
    buildWheel({ name: "charset-normalizer", version: "3.4.1" }),
    buildWheel({ name: "idna", version: "3.10" }),
    buildWheel({ name: "urllib3", version: "2.3.0" }),
    buildWheel({ name: "certifi", version: "2025.1.31" }),
    buildWheel({ name: "orjson", version: "3.10.15", tag: "cp312-cp312-manylinux_2_17_x86_64" }),
    buildWheel({ name: "orjson", version: "3.10.15", tag: "cp312-cp312-manylinux_2_17_aarch64" }),
    ...lockedWheels,
  ]);
  // The app in a folder of its own, with node_modules as `npm install pylayer aws-cdk-lib
  // constructs` would make it (links to this repository and its dependencies).
  const folder = await temporaryFolder();
  app = join(folder, "app");
  outdir = join(folder, "cdk.out");
  await cp(join(root, "examples", "cdk"), app, { recursive: true });
  await mkdir(join(app, "node_modules"));
  await symlink(root, join(app, "node_modules", "pylayer"));
  for (const name of ["aws-cdk-lib", "constructs"]) {
    await symlink(join(root, "node_modules", name), join(app, "node_modules", name));
  }
  const lockPath = join(app, "functions", "dates", "uv.lock");
  await writeFile(
    lockPath,
    pointLockAt(await readFile(lockPath, "utf8"), lockedWheels, server.filesUrl),
  );
  const env = isolatedEnv(folder, {
    PATH: pathWithoutDocker(),
    PIP_INDEX_URL: server.url,
    CDK_DISABLE_VERSION_CHECK: "1",
    CDK_DISABLE_CLI_TELEMETRY: "true",
    NO_COLOR: "1",
  });
  const cdk = join(root, "node_modules", "aws-cdk", "bin", "cdk");
  synth = await runProcess(
    process.execPath,
    [cdk, "synth", "--no-notices", "--no-version-reporting", "--output", outdir],
    { cwd: app, env },
  );
}, 240_000);

afterAll(async () => {
  await server?.close();
});

async function readTemplate(): Promise<Template> {
  return JSON.parse(await readFile(join(outdir, "PylayerExample.template.json"), "utf8"));
}

/** The asset zip of the layer or function whose logical id starts with `logicalPrefix`. */
async function assetZip(template: Template, logicalPrefix: string): Promise<string> {
  const [, resource] = Object.entries(template.Resources).find(
    ([id, resource]) =>
      id.startsWith(logicalPrefix) &&
      (resource.Type === "AWS::Lambda::LayerVersion" || resource.Type === "AWS::Lambda::Function"),
  )!;
  const key = (resource.Properties.Content ?? resource.Properties.Code)!.S3Key;
  const manifest: AssetManifest = JSON.parse(
    await readFile(join(outdir, "PylayerExample.assets.json"), "utf8"),
  );
  const file = Object.values(manifest.files).find((item) =>
    Object.values(item.destinations).some((destination) => destination.objectKey === key),
  )!;
  return join(outdir, file.source.path);
}

describe("examples/cdk through the cdk CLI", () => {
  it("synthesizes the app: three Python functions, one with a layer", async () => {
    expect(synth.stderr).not.toMatch(/docker/i);
    expect(synth.code, synth.stderr).toBe(0);
    // cdk synth prints the template of the one stack.
    expect(synth.stdout).toContain("AWS::Lambda::LayerVersion");
    const template = await readTemplate();
    const ofType = (type: string) =>
      Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
    expect(ofType("AWS::Lambda::LayerVersion").map(([id]) => id)).toEqual([
      expect.stringMatching(/^CommonDeps/),
    ]);
    const functions = Object.fromEntries(
      ofType("AWS::Lambda::Function").map(([id, resource]) => [
        id.replace(/[0-9A-F]{8}$/, ""),
        resource.Properties,
      ]),
    );
    expect(Object.keys(functions).sort()).toEqual(["Api", "Arm", "Dates"]);
    for (const properties of Object.values(functions)) {
      expect(properties.Handler).toBe("index.handler");
      expect(properties.Runtime).toBe("python3.12");
    }
    expect(functions.Arm?.Architectures).toEqual(["arm64"]);
    expect(functions.Api?.Architectures).toBeUndefined();
    expect(functions.Api?.Layers).toEqual([{ Ref: expect.stringMatching(/^CommonDeps/) }]);
    expect(functions.Dates?.Layers).toBeUndefined();
  });

  it("packages each function's source with its dependencies: aarch64 wheels for arm64, the uv.lock as locked", async () => {
    const template = await readTemplate();
    const api = Object.keys(await unzipFile(await assetZip(template, "Api")));
    expect(api).toEqual(["index.py"]);
    const arm = await unzipFile(await assetZip(template, "Arm"));
    expect(Object.keys(arm)).toContain("index.py");
    expect(new TextDecoder().decode(arm["orjson-3.10.15.dist-info/WHEEL"])).toContain(
      "Tag: cp312-cp312-manylinux_2_17_aarch64",
    );
    const dates = Object.keys(await unzipFile(await assetZip(template, "Dates")));
    expect(dates).toEqual(
      expect.arrayContaining(["index.py", "uv.lock", "dateutil/parser.py", "six.py"]),
    );
    const layer = Object.keys(await unzipFile(await assetZip(template, "CommonDeps")));
    expect(layer).toContain("python/requests/__init__.py");
  });

  it("checks the Api function with its layer as Lambda runs them", async () => {
    const template = await readTemplate();
    const check = await runCli([
      "check",
      await assetZip(template, "Api"),
      "--layer",
      await assetZip(template, "CommonDeps"),
      "--handler",
      "index.handler",
      "--runtime",
      "python3.12",
    ]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it.skipIf(moto === undefined)(
    "deploys the shared layer's asset to the AWS emulator",
    async () => {
      const template = await readTemplate();
      const zipPath = await assetZip(template, "CommonDeps");
      const check = await runCli(["check", zipPath, "--runtime", "python3.12"]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const name = uniqueName("cdk-example");
      const result = await publishLayer({
        zipPath,
        name,
        regions: ["us-east-1"],
        aws: motoOptions(moto!.endpoint),
      });
      expect(result.ok).toBe(true);
      const client = lambdaClient(moto!.endpoint);
      try {
        const version = await client.send(
          new GetLayerVersionCommand({
            LayerName: name,
            VersionNumber: result.regions[0]!.version!,
          }),
        );
        const sha = createHash("sha256")
          .update(await readFile(zipPath))
          .digest("base64");
        expect(version.Content?.CodeSha256).toBe(sha);
        expect(version.CompatibleRuntimes).toEqual(["python3.12"]);
      } finally {
        client.destroy();
      }
    },
  );
});
