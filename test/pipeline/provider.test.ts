/**
 * The index seen by the resolver for one target: Requires-Python from the index and from
 * METADATA, PEP 592 yanked files, sdist-only releases, metadata that contradicts the file name.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildOptions, buildLayer } from "../../src/pipeline/index.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

let server: IndexServer;

beforeAll(async () => {
  const wheels = [
    // Requires-Python announced by the index (data-requires-python / JSON requires-python).
    buildWheel({ name: "modern", version: "3.0", requiresPython: ">=3.13" }),
    buildWheel({ name: "modern", version: "2.0", requiresPython: ">=3.9" }),
    // Requires-Python only in METADATA (the index does not announce it: see requiresPython below).
    buildWheel({ name: "quiet", version: "2.0", requiresPython: ">=3.14" }),
    buildWheel({ name: "quiet", version: "1.0" }),
    // A yanked newest release.
    buildWheel({ name: "yanky", version: "1.1" }),
    buildWheel({ name: "yanky", version: "1.0" }),
    buildWheel({ name: "only-yanked", version: "1.0" }),
  ];
  server = await startIndexServer(wheels, {
    requiresPython: { "quiet-2.0-py3-none-any.whl": "" },
    yanked: {
      "yanky-1.1-py3-none-any.whl": "broken release",
      "only_yanked-1.0-py3-none-any.whl": true,
    },
    extraFiles: [
      {
        project: "sdist-only",
        filename: "sdist_only-1.0.tar.gz",
        bytes: new TextEncoder().encode("x"),
      },
    ],
  });
});
afterAll(async () => {
  await server?.close();
});

async function plan(
  requirements: string[],
  runtime = "python3.12",
  options: Pick<BuildOptions, "onlyBinary"> = {},
) {
  const result = await buildLayer({
    ...options,
    requirements,
    runtimes: [runtime],
    index: { indexUrl: server.url },
    env: isolatedEnv(await temporaryFolder()),
    cwd: await temporaryFolder(),
    dryRun: true,
  });
  return result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`);
}

describe("TargetProvider", () => {
  it("skips releases whose index Requires-Python excludes the runtime", async () => {
    expect(await plan(["modern"], "python3.12")).toEqual(["modern==2.0"]);
    expect(await plan(["modern"], "python3.13")).toEqual(["modern==3.0"]);
  });

  it("backtracks from a release whose METADATA Requires-Python excludes the runtime", async () => {
    expect(await plan(["quiet"], "python3.12")).toEqual(["quiet==1.0"]);
    expect(await plan(["quiet"], "python3.14")).toEqual(["quiet==2.0"]);
  });

  it("uses a yanked release only when a requirement pins its exact version (PEP 592)", async () => {
    expect(await plan(["yanky"])).toEqual(["yanky==1.0"]);
    expect(await plan(["yanky==1.1"])).toEqual(["yanky==1.1"]);
    await expect(plan(["only-yanked"])).rejects.toMatchObject({
      code: "no-matching-distribution",
    });
    expect(await plan(["only-yanked==1.0"])).toEqual(["only-yanked==1.0"]);
  });

  it("says when a project only publishes source distributions and --only-binary forbids builds", async () => {
    await expect(
      plan(["sdist-only"], "python3.12", { onlyBinary: [":all:"] }),
    ).rejects.toMatchObject({
      code: "no-matching-distribution",
      message: expect.stringContaining("only a source distribution"),
      // Issue 18, point 14: what to do about it.
      hint: expect.stringMatching(/pin a version of sdist-only .* --find-links wheels\//),
    });
  });

  it("falls back to the sdist when no wheel exists (and reads it: a broken one is named)", async () => {
    await expect(plan(["sdist-only"])).rejects.toMatchObject({
      code: "invalid-sdist",
      message: expect.stringContaining("sdist_only-1.0.tar.gz"),
    });
  });

  it("bypasses the cache with noCache", async () => {
    const home = await temporaryFolder();
    await buildLayer({
      requirements: ["modern"],
      index: { indexUrl: server.url },
      env: isolatedEnv(home),
      cwd: await temporaryFolder(),
      noCache: true,
    });
    expect(existsSync(join(home, "cache"))).toBe(false);
    await buildLayer({
      requirements: ["modern"],
      index: { indexUrl: server.url },
      env: isolatedEnv(home),
      cwd: await temporaryFolder(),
    });
    expect(existsSync(join(home, "cache", "wheels-v1"))).toBe(true);
  });
});
