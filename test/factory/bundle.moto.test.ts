/**
 * The Lambda builder as deployed: pylayer's dist/lambda-bundle copied alone to a folder
 * outside the package (no node_modules around it) builds and publishes a lock-file item;
 * run again with the same lock, it skips the build (the fingerprint is recorded).
 */
import { cp, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ItemResult, WorkItem } from "../../src/factory/index.js";
import type { FactorySettings } from "../../src/lambda/index.js";
import { motoOptions, uniqueName } from "../aws/moto.js";
import { runCli } from "../helpers/cli.js";
import type { IndexServer } from "../helpers/index-server.js";
import { motoForFile } from "../helpers/moto.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { createRecordTable, startCatalogueIndex } from "./fixture.js";

const moto = await motoForFile();
const BUNDLE = fileURLToPath(new URL("../../dist/lambda-bundle/", import.meta.url));

describe.skipIf(moto === undefined)("pylayer's Lambda bundle", () => {
  const endpoint = moto?.endpoint ?? "";
  let index: IndexServer;
  let home = "";
  let handler: (event: { item: WorkItem }) => Promise<ItemResult>;
  let item: WorkItem;
  const table = uniqueName("layers");

  beforeAll(async () => {
    index = await startCatalogueIndex();
    home = await temporaryFolder("pylayer-bundle-");
    const copy = join(home, "function");
    await cp(BUNDLE, copy, { recursive: true });
    const module = (await import(pathToFileURL(join(copy, "index.mjs")).href)) as {
      createHandler: (settings: FactorySettings) => typeof handler;
    };
    await createRecordTable(endpoint, table);
    handler = module.createHandler({
      table,
      tableRegion: "us-east-1",
      namePrefix: "lock-",
      cacheDir: join(home, "cache"),
      workDir: join(home, "work"),
      env: isolatedEnv(home),
      aws: motoOptions(endpoint),
    });
    const lock = join(home, "pylock.toml");
    const locked = await runCli(
      [
        "lock",
        "gamma-lib",
        "--index-url",
        index.url,
        "--runtime",
        "python3.12",
        "--arch",
        "arm64",
        "-o",
        lock,
      ],
      { env: isolatedEnv(home) },
    );
    expect(locked.code, locked.stderr).toBe(0);
    const name = `lock-${uniqueName("gamma")}`;
    item = {
      id: "gamma/python3.12/arm64",
      layer: name,
      layerName: `${name}-py312-arm64`,
      runtime: "python3.12",
      architecture: "arm64",
      regions: ["us-east-1", "eu-central-1"],
      input: { kind: "lock", filename: "pylock.toml", text: await readFile(lock, "utf8") },
      options: { license: "MIT" },
    };
  });

  afterAll(async () => {
    await index?.close();
  });

  it("builds and publishes a locked item from a folder of its own", async () => {
    const result = await handler({ item });
    expect(result.status, JSON.stringify(result.error)).toBe("ok");
    expect(result.buildSkipped).toBe(false);
    expect(result.packages).toEqual([
      { name: "gamma-lib", version: "0.3.0" },
      { name: "shared-lib", version: "1.4.0" },
    ]);
    expect(result.regions.map((region) => [region.status, region.version])).toEqual([
      ["published", 1],
      ["published", 1],
    ]);
    // The check ran its static part (sizes, ELF files, layout) before publishing; the
    // import test is off in the builder by design: Lambda's Node.js runtime has no Python.
    const codes = result.findings.map((finding) => finding.code);
    expect(codes).toContain("size-summary");
    expect(codes).not.toContain("import-test-skipped");
  });

  it("ships no Python program: the builder never runs the import test", async () => {
    const files = await readdir(BUNDLE, { recursive: true });
    expect(files.filter((file) => file.endsWith(".py"))).toEqual([]);
  });

  it("skips the build of a lock whose fingerprint is recorded in every region", async () => {
    const first = await handler({ item });
    expect(first.buildSkipped).toBe(true);
    expect(first.regions.map((region) => region.status)).toEqual(["unchanged", "unchanged"]);
    // A changed option changes the fingerprint: built again, the zip is unchanged, nothing published.
    const changed = await handler({
      item: { ...item, options: { ...item.options, description: "x" } },
    });
    expect(changed.buildSkipped).toBe(false);
    expect(changed.regions.map((region) => [region.status, region.version])).toEqual([
      ["unchanged", 1],
      ["unchanged", 1],
    ]);
  });
});
