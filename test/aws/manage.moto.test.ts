/** listLayers, pruneLayers and attachLayer against moto_server. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  type Runtime,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachLayer, listLayers, pruneLayers } from "../../src/aws/index.js";
import { motoForFile } from "../helpers/moto.js";
import { createRole, lambdaClient, motoOptions, uniqueName, writeLayerZip } from "./moto.js";

const moto = await motoForFile();
const REGION = "us-west-2";

describe.skipIf(moto === undefined)("layers and attach on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  const aws = motoOptions(endpoint);
  let folder = "";
  let zipBytes = Buffer.alloc(0);
  let roleArn = "";

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pylayer-aws-"));
    await writeLayerZip(join(folder, "layer.zip"), { "python/demo.py": "VALUE = 1\n" });
    zipBytes = await readFile(join(folder, "layer.zip"));
    roleArn = await createRole(endpoint, uniqueName("lambda-role"));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** Publishes `count` versions of a new layer straight through the SDK; returns their ARNs, oldest first. */
  async function publishVersions(
    name: string,
    count: number,
    compatibility: { runtimes?: string[]; architectures?: ("x86_64" | "arm64")[] } = {},
  ): Promise<string[]> {
    const client = lambdaClient(endpoint, REGION);
    try {
      const arns: string[] = [];
      for (let index = 0; index < count; index++) {
        const published = await client.send(
          new PublishLayerVersionCommand({
            LayerName: name,
            Content: { ZipFile: zipBytes },
            CompatibleRuntimes: (compatibility.runtimes ?? ["python3.12"]) as Runtime[],
            CompatibleArchitectures: compatibility.architectures ?? ["x86_64"],
          }),
        );
        arns.push(published.LayerVersionArn!);
      }
      return arns;
    } finally {
      client.destroy();
    }
  }

  async function createFunction(
    name: string,
    options: { runtime?: string; architecture?: "x86_64" | "arm64"; layers?: string[] } = {},
  ): Promise<void> {
    const client = lambdaClient(endpoint, REGION);
    try {
      await client.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: (options.runtime ?? "python3.12") as Runtime,
          Role: roleArn,
          Handler: "demo.handler",
          Code: { ZipFile: zipBytes },
          Architectures: [options.architecture ?? "x86_64"],
          Layers: options.layers ?? [],
        }),
      );
    } finally {
      client.destroy();
    }
  }

  async function layersOf(functionName: string): Promise<string[]> {
    const client = lambdaClient(endpoint, REGION);
    try {
      const configuration = await client.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName }),
      );
      return (configuration.Layers ?? []).map((layer) => layer.Arn ?? "");
    } finally {
      client.destroy();
    }
  }

  it("lists every version of one layer with sizes, and the newest of each layer", async () => {
    const name = uniqueName("list");
    const arns = await publishVersions(name, 3, {
      runtimes: ["python3.12", "python3.13"],
      architectures: ["arm64"],
    });
    const one = await listLayers({ name, regions: [REGION], aws });
    expect(one.ok).toBe(true);
    expect(one.regions[0]?.layers.map((layer) => layer.version)).toEqual([3, 2, 1]);
    expect(one.regions[0]?.layers[0]).toMatchObject({
      region: REGION,
      name,
      layerVersionArn: arns[2],
      runtimes: ["python3.12", "python3.13"],
      architectures: ["arm64"],
      codeSize: zipBytes.length,
    });
    expect(one.regions[0]?.layers[0]?.createdDate).toMatch(/^\d{4}-\d\d-\d\dT/);

    const all = await listLayers({ regions: [REGION], aws });
    const mine = all.regions[0]?.layers.filter((layer) => layer.name === name);
    expect(mine?.map((layer) => layer.version)).toEqual([3]);

    const missing = await listLayers({ name: uniqueName("absent"), regions: [REGION], aws });
    expect(missing.regions[0]?.layers).toEqual([]);
  });

  it("prunes to the newest N but keeps versions functions still use (published function versions included)", async () => {
    const name = uniqueName("prune");
    const arns = await publishVersions(name, 6);
    const user = uniqueName("fn-user");
    // $LATEST uses version 2; published function version 1 used version 1.
    await createFunction(user, { layers: [arns[0]!] });
    const client = lambdaClient(endpoint, REGION);
    try {
      await client.send(new PublishVersionCommand({ FunctionName: user }));
    } finally {
      client.destroy();
    }
    await attachLayer({ functions: [user], layer: `${name}:2`, regions: [REGION], aws });

    const dryRun = await pruneLayers({ name, keep: 2, regions: [REGION], dryRun: true, aws });
    const region = dryRun.regions[0]!;
    expect(region.kept.map((item) => [item.version, item.reason])).toEqual([
      [6, "one of the newest 2"],
      [5, "one of the newest 2"],
      [2, `used by ${user}`],
      [1, `used by ${user}:1`],
    ]);
    expect(region.deleted.map((item) => item.version)).toEqual([4, 3]);
    expect(await versionNumbers(name)).toEqual([6, 5, 4, 3, 2, 1]);

    const real = await pruneLayers({ name, keep: 2, regions: [REGION], aws });
    expect(real.ok).toBe(true);
    expect(real.regions[0]?.deleted.map((item) => item.version)).toEqual([4, 3]);
    expect(await versionNumbers(name)).toEqual([6, 5, 2, 1]);

    const includeUsed = await pruneLayers({
      name,
      keep: 1,
      regions: [REGION],
      includeUsed: true,
      aws,
    });
    expect(includeUsed.regions[0]?.deleted.map((item) => item.version)).toEqual([5, 2, 1]);
    expect(await versionNumbers(name)).toEqual([6]);
    // Functions keep their configuration (Lambda keeps deleted versions working for them).
    expect(await layersOf(user)).toEqual([arns[1]]);
  });

  async function versionNumbers(name: string): Promise<number[]> {
    const client = lambdaClient(endpoint, REGION);
    try {
      const listed = await client.send(new ListLayerVersionsCommand({ LayerName: name }));
      return (listed.LayerVersions ?? []).map((item) => item.Version ?? 0);
    } finally {
      client.destroy();
    }
  }

  it("replaces an older version in place, keeps the other layers' order, and adds new layers last", async () => {
    const deps = uniqueName("deps");
    const other = uniqueName("other");
    const extra = uniqueName("extra");
    const depsArns = await publishVersions(deps, 3);
    const [otherArn] = await publishVersions(other, 1);
    const [extraArn] = await publishVersions(extra, 1);
    const fn = uniqueName("fn-order");
    await createFunction(fn, { layers: [otherArn!, depsArns[0]!, extraArn!] });

    const replaced = await attachLayer({ functions: [fn], layer: deps, regions: [REGION], aws });
    expect(replaced.functions[0]).toMatchObject({
      status: "updated",
      change: "replaced",
      replaced: depsArns[0],
      layerVersionArn: depsArns[2],
    });
    expect(await layersOf(fn)).toEqual([otherArn, depsArns[2], extraArn]);

    const again = await attachLayer({ functions: [fn], layer: deps, regions: [REGION], aws });
    expect(again.functions[0]).toMatchObject({ status: "unchanged", change: "unchanged" });

    const pinned = await attachLayer({
      functions: [fn],
      layer: depsArns[1]!,
      aws,
    });
    expect(pinned.functions[0]?.region).toBe(REGION);
    expect(await layersOf(fn)).toEqual([otherArn, depsArns[1], extraArn]);

    const fresh = uniqueName("fresh");
    const [freshArn] = await publishVersions(fresh, 1);
    await attachLayer({ functions: [fn], layer: fresh, regions: [REGION], aws });
    expect(await layersOf(fn)).toEqual([otherArn, depsArns[1], extraArn, freshArn]);
  });

  it("refuses incompatible runtimes and architectures and a sixth layer, and reports each function", async () => {
    const layer = uniqueName("compat");
    await publishVersions(layer, 1, { runtimes: ["python3.12"], architectures: ["arm64"] });
    const wrongRuntime = uniqueName("fn-py311");
    const wrongArch = uniqueName("fn-x86");
    const good = uniqueName("fn-good");
    await createFunction(wrongRuntime, { runtime: "python3.11", architecture: "arm64" });
    await createFunction(wrongArch, { runtime: "python3.12", architecture: "x86_64" });
    await createFunction(good, { runtime: "python3.12", architecture: "arm64" });
    const result = await attachLayer({
      functions: [wrongRuntime, wrongArch, good, uniqueName("fn-missing")],
      layer,
      regions: [REGION],
      aws,
    });
    expect(result.ok).toBe(false);
    expect(result.functions.map((item) => [item.status, item.error?.code])).toEqual([
      ["failed", "attach-incompatible-runtime"],
      ["failed", "attach-incompatible-architecture"],
      ["updated", undefined],
      ["failed", "aws-not-found"],
    ]);
    expect(result.functions[3]?.error?.message).toContain("lambda:GetFunctionConfiguration");
    expect(await layersOf(wrongRuntime)).toEqual([]);

    const fullLayers = await Promise.all(
      [1, 2, 3, 4, 5].map(async (index) => (await publishVersions(uniqueName(`f${index}`), 1))[0]!),
    );
    const full = uniqueName("fn-full");
    await createFunction(full, { layers: fullLayers });
    const [sixth] = await publishVersions(uniqueName("sixth"), 1);
    const refused = await attachLayer({ functions: [full], layer: sixth!, aws });
    expect(refused.functions[0]?.error?.code).toBe("attach-too-many-layers");
    expect(await layersOf(full)).toEqual(fullLayers);
  });
});
