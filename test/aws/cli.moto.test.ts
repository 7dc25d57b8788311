/** The AWS commands end to end through `main` (in-process) against moto_server. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListLayerVersionsCommand } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { encodeManifest } from "../../src/layer/index.js";
import { runCli as runExecutable } from "../helpers/cli.js";
import { refusedPort } from "../helpers/index-server.js";
import { motoForFile } from "../helpers/moto.js";
import { writeWheels } from "../helpers/wheels.js";
import { lambdaClient, motoEnv, uniqueName, writeLayerZip } from "./moto.js";

const moto = await motoForFile();

async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(argv, env);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe.skipIf(moto === undefined)("AWS commands of the CLI on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  let folder = "";
  let zip = "";
  let closedEndpoint = "";

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pylayer-aws-cli-"));
    zip = join(folder, "layer.zip");
    await writeLayerZip(
      zip,
      { "python/demo.py": "VALUE = 1\n" },
      encodeManifest({
        runtimes: ["python3.12"],
        architectures: ["x86_64"],
        layout: "python",
        packages: [],
      }),
    );
    closedEndpoint = `http://127.0.0.1:${await refusedPort()}`;
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function versionCount(name: string, region = "us-east-1"): Promise<number> {
    const client = lambdaClient(endpoint, region);
    try {
      const listed = await client.send(new ListLayerVersionsCommand({ LayerName: name }));
      return listed.LayerVersions?.length ?? 0;
    } finally {
      client.destroy();
    }
  }

  it("publishes, then reports the same ARN unchanged; --json is a machine-readable list", async () => {
    const name = uniqueName("cli");
    const first = await runCli(["publish", zip, "--name", name], motoEnv(endpoint));
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`published us-east-1 +arn:aws:lambda:us-east-1:123456789012:layer:${name}:1`),
    );
    const second = await runCli(
      ["publish", zip, "--name", name, "--region", "us-east-1", "--region", "eu-west-1", "--json"],
      motoEnv(endpoint),
    );
    expect(second.code).toBe(0);
    const json = JSON.parse(second.stdout) as {
      ok: boolean;
      regions: { region: string; status: string; layerVersionArn: string }[];
    };
    expect(json.ok).toBe(true);
    expect(
      json.regions.map((region) => [region.region, region.status, region.layerVersionArn]),
    ).toEqual([
      ["us-east-1", "unchanged", `arn:aws:lambda:us-east-1:123456789012:layer:${name}:1`],
      ["eu-west-1", "published", `arn:aws:lambda:eu-west-1:123456789012:layer:${name}:1`],
    ]);
    expect(await versionCount(name)).toBe(1);
  });

  it("runs as a real process: the installed executable publishes and exits", async () => {
    const name = uniqueName("process");
    const result = await runExecutable(["publish", zip, "--name", name, "--json"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: folder,
        ...motoEnv(endpoint),
        AWS_CONFIG_FILE: join(folder, "missing-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(folder, "missing-credentials"),
      },
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      regions: [{ region: "us-east-1", status: "published", version: 1 }],
    });
    // The SDK's Node-version notice is not shown to pylayer users.
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning/);
  });

  it("takes the endpoint as the AWS CLI does: flag, then AWS_ENDPOINT_URL_LAMBDA, then AWS_ENDPOINT_URL", async () => {
    const name = uniqueName("endpoint");
    // The general variable points at a closed port; the service-specific one wins.
    const serviceSpecific = await runCli(["publish", zip, "--name", name, "--json"], {
      ...motoEnv(closedEndpoint),
      AWS_ENDPOINT_URL_LAMBDA: endpoint,
    });
    expect(serviceSpecific.code).toBe(0);
    // Both variables point at the closed port; the flag wins.
    const flag = await runCli(
      ["publish", zip, "--name", name, "--force", "--endpoint-url", endpoint, "--json"],
      { ...motoEnv(closedEndpoint), AWS_ENDPOINT_URL_LAMBDA: closedEndpoint },
    );
    expect(flag.code).toBe(0);
    expect(await versionCount(name)).toBe(2);
    // Without an override that works, the closed port is what is reached, and said.
    const unreachable = await runCli(
      ["publish", zip, "--name", name, "--force"],
      motoEnv(closedEndpoint),
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/aws-network/);
  });

  it("fails with a clear usage error when no region is configured", async () => {
    const env = motoEnv(endpoint);
    delete env.AWS_REGION;
    // The SDK reads the profile's region from the shared config files named by the
    // process environment: point them at nothing for this test.
    const saved = { ...process.env };
    process.env.AWS_CONFIG_FILE = join(folder, "missing-config");
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(folder, "missing-credentials");
    for (const variable of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"]) {
      delete process.env[variable];
    }
    try {
      const result = await runCli(["layers", "list"], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no AWS region given or configured \[aws-region-missing\]/);
      expect(result.stderr).toMatch(/Pass --region/);
    } finally {
      process.env = saved;
    }
  });

  it("refuses bad names and long descriptions before any call", async () => {
    const env = motoEnv(closedEndpoint);
    const badName = await runCli(["publish", zip, "--name", "bad name!"], env);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/invalid-layer-name/);
    expect(badName.stderr).toMatch(/\[a-zA-Z0-9-_\]\+/);
    const longDescription = await runCli(
      ["publish", zip, "--name", "ok", "--description", "x".repeat(257)],
      env,
    );
    expect(longDescription.code).toBe(2);
    expect(longDescription.stderr).toMatch(/257 characters; Lambda accepts at most 256/);
  });

  it("lists, prunes and attaches", async () => {
    const name = uniqueName("cli-manage");
    const env = motoEnv(endpoint, "us-east-1");
    for (let index = 0; index < 3; index++) {
      expect((await runCli(["publish", zip, "--name", name, "--force"], env)).code).toBe(0);
    }
    const listed = await runCli(["layers", "list", "--name", name], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/REGION +NAME +VERSION +RUNTIMES +ARCHS +CREATED +SIZE +ARN/);
    expect(listed.stdout.match(new RegExp(`${name} +\\d +python3\\.12 +x86_64`, "g"))).toHaveLength(
      3,
    );

    const dryRun = await runCli(["layers", "prune", name, "--keep", "1", "--dry-run"], env);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toMatch(new RegExp(`would delete us-east-1 +\\S+:layer:${name}:2`));
    expect(await versionCount(name)).toBe(3);
    const pruned = await runCli(["layers", "prune", name, "--keep", "1", "--json"], env);
    expect(pruned.code).toBe(0);
    const prunedJson = JSON.parse(pruned.stdout) as {
      regions: { deleted: { version: number }[]; kept: { version: number; reason: string }[] }[];
    };
    expect(prunedJson.regions[0]?.deleted.map((item) => item.version)).toEqual([2, 1]);
    expect(prunedJson.regions[0]?.kept).toEqual([
      expect.objectContaining({ version: 3, reason: "one of the newest 1" }),
    ]);

    const missingKeep = await runCli(["layers", "prune", name], env);
    expect(missingKeep.code).toBe(2);
    expect(missingKeep.stderr).toMatch(/--keep is required/);

    const attach = await runCli(["attach", uniqueName("no-such-fn"), "--layer", name], env);
    expect(attach.code).toBe(1);
    expect(attach.stderr).toMatch(/lambda:GetFunctionConfiguration/);
  });

  it("builds and publishes in one go; a matrix publishes one layer per runtime and architecture", async () => {
    const wheels = join(folder, "wheels");
    await writeWheels(wheels, [
      { name: "purepkg", version: "1.0" },
      { name: "nativepkg", version: "2.0", tag: "cp312-cp312-manylinux_2_17_x86_64" },
      { name: "nativepkg", version: "2.0", tag: "cp312-cp312-manylinux_2_17_aarch64" },
    ]);
    const common = ["--no-index", "--find-links", wheels, "--cache-dir", join(folder, "cache")];
    const name = uniqueName("built");
    const single = await runCli(
      [
        "build",
        "purepkg",
        ...common,
        "-o",
        join(folder, "pure.zip"),
        "--publish",
        name,
        "--public",
        "--json",
      ],
      motoEnv(endpoint),
    );
    expect(single.code).toBe(0);
    const singleJson = JSON.parse(single.stdout) as {
      ok: boolean;
      zips: unknown[];
      publish: { name: string; regions: { status: string; permissions: unknown[] }[] }[];
    };
    expect(singleJson.ok).toBe(true);
    expect(singleJson.zips).toHaveLength(1);
    expect(singleJson.publish[0]?.name).toBe(name);
    expect(singleJson.publish[0]?.regions[0]?.status).toBe("published");
    expect(singleJson.publish[0]?.regions[0]?.permissions).toHaveLength(1);

    const matrix = await runCli(
      [
        "build",
        "nativepkg",
        ...common,
        "--runtime",
        "python3.12",
        "--arch",
        "x86_64",
        "--arch",
        "arm64",
        "-o",
        join(folder, "matrix"),
        "--publish",
        name,
      ],
      motoEnv(endpoint),
    );
    expect(matrix.code).toBe(0);
    expect(matrix.stdout).toMatch(
      new RegExp(`published us-east-1 +\\S+:layer:${name}-py312-x86_64:1`),
    );
    expect(matrix.stdout).toMatch(
      new RegExp(`published us-east-1 +\\S+:layer:${name}-py312-arm64:1`),
    );

    const stray = await runCli(["build", "purepkg", ...common, "--region", "us-east-1"], {});
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/--region is a publish option/);
  });
});
