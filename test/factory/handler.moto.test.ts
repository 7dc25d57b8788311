/**
 * The builder handler (`pylayer/lambda`) against moto (Lambda, S3, DynamoDB) through a
 * proxy that throttles some publishes: 20 items × 3 regions, 4 items failing with a
 * user error (not retried), throttled items retried as the state machine would, every
 * success recorded in the table, nothing published twice on a rerun; then
 * `pylayer factory run --local` on the same catalogue gives the same results table.
 */
import { join } from "node:path";
import { ListLayerVersionsCommand } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expandManifest,
  type ItemResult,
  RecordTable,
  readManifest,
  resultRows,
  type WorkItem,
} from "../../src/factory/index.js";
import { createHandler, RETRYABLE_ERROR_NAME } from "../../src/lambda/index.js";
import { lambdaClient, motoEnv, motoOptions, uniqueName } from "../aws/moto.js";
import { runCli } from "../helpers/cli.js";
import type { IndexServer } from "../helpers/index-server.js";
import { motoForFile } from "../helpers/moto.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import {
  createRecordTable,
  GOOD_LAYERS,
  REGIONS,
  startCatalogueIndex,
  startThrottlingProxy,
  type ThrottlingProxy,
  writeCatalogueManifest,
} from "./fixture.js";

const moto = await motoForFile();

/** The regions where the proxy throttles an item's first publish (see THROTTLED). */
const THROTTLED_REGIONS: Record<string, string[]> = {
  "beta/python3.12/x86_64": ["eu-west-1"],
  "gamma/python3.13/arm64": ["eu-west-1", "ap-southeast-2"],
};

/** Runs the handler like the state machine: a thrown PylayerRetryableError is retried, at most 4 times. */
async function runLikeStateMachine(
  handler: (event: { item: WorkItem }) => Promise<ItemResult>,
  items: WorkItem[],
): Promise<{ results: ItemResult[]; retried: string[] }> {
  const retried: string[] = [];
  const results = await Promise.all(
    items.map(async (item) => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          const result = await handler({ item });
          return { ...result, attempts: attempt };
        } catch (error) {
          expect((error as Error).name).toBe(RETRYABLE_ERROR_NAME);
          if (attempt > 4) throw error;
          retried.push(item.id);
        }
      }
    }),
  );
  return { results, retried };
}

describe.skipIf(moto === undefined)("the factory builder on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  let index: IndexServer;
  let proxy: ThrottlingProxy;
  let folder = "";
  let home = "";
  const prefix = `${uniqueName("fh")}-`;
  const table = uniqueName("layers");
  let items: WorkItem[] = [];
  let firstRun: ItemResult[] = [];
  let manifestPath = "";

  beforeAll(async () => {
    index = await startCatalogueIndex();
    proxy = await startThrottlingProxy(endpoint);
    folder = await temporaryFolder("pylayer-factory-");
    home = await temporaryFolder("pylayer-factory-home-");
    await createRecordTable(endpoint, table);
    manifestPath = await writeCatalogueManifest(folder, prefix, index.url);
    const { manifest, folder: base } = await readManifest(manifestPath);
    items = await expandManifest(manifest, base);
  });

  afterAll(async () => {
    await proxy?.close();
    await index?.close();
  });

  function settings() {
    return {
      table,
      tableRegion: "us-east-1",
      namePrefix: prefix,
      cacheDir: join(home, "cache"),
      workDir: join(home, "work"),
      env: isolatedEnv(home),
      // One attempt per SDK call, so the proxy's throttling reaches the handler.
      aws: { ...motoOptions(proxy.endpoint), maxAttempts: 1 },
    };
  }

  async function versionsOf(name: string, region: string): Promise<number[]> {
    const client = lambdaClient(endpoint, region);
    try {
      const listed = await client.send(new ListLayerVersionsCommand({ LayerName: name }));
      return (listed.LayerVersions ?? []).map((entry) => entry.Version ?? 0);
    } finally {
      client.destroy();
    }
  }

  it("builds and publishes 20 items × 3 regions; bad items fail alone, throttled ones are retried", async () => {
    expect(items).toHaveLength(20);
    const { results, retried } = await runLikeStateMachine(createHandler(settings()), items);
    firstRun = results;
    // Three (layer, region) pairs are throttled once; the two items run a second time.
    expect(proxy.throttled()).toBe(3);
    expect(retried.sort()).toEqual(["beta/python3.12/x86_64", "gamma/python3.13/arm64"]);

    const broken = results.filter((result) => result.layer === "broken");
    expect(broken).toHaveLength(4);
    for (const result of broken) {
      expect(result.status).toBe("failed");
      expect(result.error).toMatchObject({ retryable: false });
      // The index has no such project: pylayer's own code, message and hint, not retried.
      expect(result.error?.code).toBe("project-not-found");
      expect(result.error?.message).toContain("no-such-project");
      expect(result.error?.hint).toBeTruthy();
      expect(result.attempts).toBe(1);
      expect(result.regions.every((region) => region.status === "not-attempted")).toBe(true);
    }
    const good = results.filter((result) => result.layer !== "broken");
    expect(good).toHaveLength(16);
    for (const result of good) {
      expect(result.status, JSON.stringify(result.error)).toBe("ok");
      expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(result.size).toBeGreaterThan(0);
      expect(result.regions.map((region) => region.region)).toEqual(REGIONS);
      // A throttled item runs again: the regions its first attempt published are unchanged then.
      const throttledIn = THROTTLED_REGIONS[result.id] ?? REGIONS;
      expect(result.attempts).toBe(result.id in THROTTLED_REGIONS ? 2 : 1);
      for (const region of result.regions) {
        expect(region.status).toBe(throttledIn.includes(region.region) ? "published" : "unchanged");
        expect(region.layerVersionArn).toBe(
          `arn:aws:lambda:${region.region}:123456789012:layer:${result.layerName}:1`,
        );
      }
    }
    // Each success is recorded once per (layer, runtime, arch, region).
    const records = new RecordTable(table, "us-east-1", motoOptions(endpoint));
    for (const layer of GOOD_LAYERS) {
      const recorded = await records.layerRecords(layer);
      expect(recorded).toHaveLength(12);
      for (const record of recorded) {
        const result = good.find(
          (entry) =>
            entry.layer === layer &&
            entry.runtime === record.runtime &&
            entry.architecture === record.architecture,
        );
        expect(record.layerVersionArn).toBe(
          result?.regions.find((region) => region.region === record.region)?.layerVersionArn,
        );
        expect(record.sha256).toBe(result?.sha256);
      }
    }
    expect(await records.layerRecords("broken")).toEqual([]);
  });

  it("publishes nothing twice on a rerun", async () => {
    const { results } = await runLikeStateMachine(createHandler(settings()), items);
    for (const result of results.filter((entry) => entry.layer !== "broken")) {
      expect(result.status).toBe("ok");
      expect(result.regions.map((region) => region.status)).toEqual([
        "unchanged",
        "unchanged",
        "unchanged",
      ]);
      const before = firstRun.find((entry) => entry.id === result.id);
      expect(result.sha256).toBe(before?.sha256);
    }
    for (const item of items.filter((entry) => entry.layer !== "broken")) {
      for (const region of REGIONS) expect(await versionsOf(item.layerName, region)).toEqual([1]);
    }
  });

  it("`factory plan --table` says what is recorded and would be rebuilt, and what is new", async () => {
    const plan = await runCli(["factory", "plan", manifestPath, "--table", table, "--json"], {
      env: { ...isolatedEnv(home), ...motoEnv(endpoint) },
    });
    expect(plan.code, plan.stderr).toBe(0);
    const output = JSON.parse(plan.stdout) as {
      counts: Record<string, number>;
      items: { id: string; regions: { action: string; version?: number }[] }[];
    };
    expect(output.items).toHaveLength(20);
    // Requirements (not a lock): same inputs as recorded, rebuilt to see new releases.
    expect(output.counts).toEqual({ new: 12, changed: 0, skip: 0, check: 48, unknown: 0 });
    const alpha = output.items.find((item) => item.id === "alpha/python3.12/arm64");
    expect(alpha?.regions.map((region) => [region.action, region.version])).toEqual([
      ["check", 1],
      ["check", 1],
      ["check", 1],
    ]);
    const text = await runCli(["factory", "plan", manifestPath, "--table", table], {
      env: { ...isolatedEnv(home), ...motoEnv(endpoint) },
    });
    expect(text.stdout).toContain("rebuilt; published if the zip changed");
    expect(text.stderr).toContain(
      "20 items, 60 publications: 12 new, 0 changed, 48 to check, 0 skipped",
    );
  });

  it("`factory run --local` on the same catalogue gives the same results table", async () => {
    const cliPrefix = `${uniqueName("fc")}-`;
    const manifest = await writeCatalogueManifest(folder, cliPrefix, index.url);
    const cliTable = uniqueName("layers");
    await createRecordTable(endpoint, cliTable);
    const env = {
      ...isolatedEnv(home),
      ...motoEnv(proxy.endpoint),
      AWS_MAX_ATTEMPTS: "1",
    };
    const run = await runCli(
      [
        "factory",
        "run",
        manifest,
        "--local",
        "--table",
        cliTable,
        "--retry-delay",
        "0.01",
        "--json",
      ],
      { env },
    );
    expect(run.code, run.stderr).toBe(1);
    const output = JSON.parse(run.stdout) as { ok: boolean; rows: ReturnType<typeof resultRows> };
    expect(output.ok).toBe(false);
    const normalize = (rows: ReturnType<typeof resultRows>, namePrefix: string) =>
      rows.map((row) => ({
        ...row,
        layerName: row.layerName.replace(namePrefix, "PREFIX-"),
        ...(row.layerVersionArn === undefined
          ? {}
          : { layerVersionArn: row.layerVersionArn.replace(namePrefix, "PREFIX-") }),
      }));
    expect(normalize(output.rows, cliPrefix)).toEqual(normalize(resultRows(firstRun), prefix));
  });
});
