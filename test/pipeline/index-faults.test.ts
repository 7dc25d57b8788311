/**
 * Trust under faults (issue 19): what a build does when the index misbehaves or a
 * dependency cannot be found, end to end through buildLayer against loopback indexes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildEvent, type BuildOptions, buildLayer } from "../../src/pipeline/index.js";
import { type IndexServer, refusedPort, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel, type WheelSpec } from "../helpers/wheels.js";

const range = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

const SPECS: WheelSpec[] = [
  // app 2.0 needs a project the index does not have; app 1.0 does not.
  { name: "app", version: "2.0", requires: ["ghost>=1"] },
  { name: "app", version: "1.0", requires: ["helper"] },
  { name: "helper", version: "1.0" },
  { name: "lonely", version: "1.0", requires: ["ghost"] },
  // Every version of left needs a c newer than any version of right allows.
  ...range(8).map((i) => ({ name: "left", version: `${i}.0`, requires: [`c>=${i + 3}`] })),
  ...range(8).map((i) => ({ name: "right", version: `${i}.0`, requires: ["c<=3"] })),
  ...range(12).map((i) => ({ name: "c", version: `${i}.0` })),
];

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer(SPECS.map(buildWheel));
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

function plan(options: BuildOptions) {
  return buildLayer({
    index: { indexUrl: server.url },
    env: isolatedEnv(home),
    runtimes: ["python3.12"],
    dryRun: true,
    noCache: true,
    ...options,
  });
}

describe("a dependency whose project does not exist (point 10)", () => {
  it("backtracks to another version of the package that required it, as pip does", async () => {
    const result = await plan({ requirements: ["app"] });
    expect(result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`)).toEqual(
      ["app==1.0", "helper==1.0"],
    );
  });

  it("reports project-not-found with who required it when no version works", async () => {
    const error = await plan({ requirements: ["lonely"] }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "project-not-found",
      message: expect.stringContaining(`No project named "ghost" found; looked in ${server.url}`),
    });
    expect((error as Error).message).toContain(
      "Required by:\n  root requires lonely\n  lonely 1.0 requires ghost",
    );
  });
});

describe("the resolver's search budget (point 11)", () => {
  it("is an option, and running out of it names the conflict, not an internal knob", async () => {
    const error = (await plan({ requirements: ["left", "right"], resolverBudget: 10 }).catch(
      (caught: unknown) => caught,
    )) as Error & { hint: string };
    expect(error).toMatchObject({ code: "resolution-too-complex" });
    expect(error.message).toMatch(
      /^Dependency resolution for python3\.12-x86_64 gave up after trying 10 candidates without settling this conflict on c:\n {2}root requires left\n {2}left \d+\.0 requires c>=\d+\n {2}root requires right\n {2}right \d+\.0 requires c<=3$/,
    );
    expect(error.message).not.toMatch(/maxRounds/);
    expect(error.hint).toContain("--resolver-budget");
  });

  it("with the default budget the same search ends with the conflict itself", async () => {
    await expect(plan({ requirements: ["left", "right"] })).rejects.toMatchObject({
      code: "resolution-impossible",
    });
  });

  it.each([0, -1, 1.5])("refuses a budget of %s", async (budget) => {
    await expect(plan({ requirements: ["helper"], resolverBudget: budget })).rejects.toMatchObject({
      code: "usage",
    });
  });
});

describe("index outage policy (point 6)", () => {
  // The private index is asked first (--extra-index-url); the public one also has "app".
  async function outage() {
    const privateIndex = `http://127.0.0.1:${await refusedPort()}/simple/`;
    const cacheDir = await temporaryFolder();
    const run = (allow: string[]) => {
      const events: BuildEvent[] = [];
      const result = buildLayer({
        index: {
          indexUrl: server.url,
          extraIndexUrls: [privateIndex],
          allowUnreachableIndexes: allow,
        },
        env: isolatedEnv(home),
        runtimes: ["python3.12"],
        requirements: ["app"],
        dryRun: true,
        cacheDir,
        onEvent: (event) => events.push(event),
      });
      return { result, events };
    };
    return { privateIndex, run };
  }

  it("fails naming the unreachable index instead of taking the project from the next one", async () => {
    const { privateIndex, run } = await outage();
    await expect(run([]).result).rejects.toMatchObject({
      code: "index-unreachable",
      message: expect.stringContaining(`Index ${privateIndex} cannot be reached`),
      hint: expect.stringContaining(`--allow-unreachable-index ${privateIndex}`),
    });
  });

  it("goes on with a warning when allowed, and does not cache that resolution", async () => {
    const { privateIndex, run } = await outage();
    const first = run([privateIndex]);
    const result = await first.result;
    expect(result.plan.targets[0]!.packages.map((item) => item.name)).toEqual(["app", "helper"]);
    expect(first.events).toContainEqual({
      type: "warning",
      message: expect.stringContaining(`Index ${privateIndex} cannot be reached`),
    });
    const second = run([privateIndex]);
    await second.result;
    const reused = (events: BuildEvent[]) =>
      events.some(
        (event) => event.type === "detail" && event.message.startsWith("Resolution reused"),
      );
    expect(reused(second.events)).toBe(false);
  });

  it("a resolution made with every index reachable is reused (the control)", async () => {
    const empty = await startIndexServer([]);
    try {
      const cacheDir = await temporaryFolder();
      const run = async () => {
        const events: BuildEvent[] = [];
        await buildLayer({
          index: { indexUrl: server.url, extraIndexUrls: [empty.url] },
          env: isolatedEnv(home),
          runtimes: ["python3.12"],
          requirements: ["app"],
          dryRun: true,
          cacheDir,
          onEvent: (event) => events.push(event),
        });
        return events.some(
          (event) => event.type === "detail" && event.message.startsWith("Resolution reused"),
        );
      };
      expect(await run()).toBe(false);
      expect(await run()).toBe(true);
    } finally {
      await empty.close();
    }
  });
});

describe("yanked files (point 7, PEP 592)", () => {
  const yankSpecs: WheelSpec[] = [
    { name: "lib", version: "1.0" },
    { name: "lib", version: "2.0" },
    { name: "other", version: "1.0" },
  ];
  const yankedFile = buildWheel(yankSpecs[1]!).filename;

  describe.each(["html", "json"] as const)("served as %s", (format) => {
    let yankServer: IndexServer;
    beforeAll(async () => {
      yankServer = await startIndexServer(yankSpecs.map(buildWheel), {
        format,
        yanked: { [yankedFile]: "broken build", [buildWheel(yankSpecs[2]!).filename]: true },
      });
    });
    afterAll(async () => {
      await yankServer?.close();
    });
    const planFrom = (requirements: string[]) =>
      buildLayer({
        index: { indexUrl: yankServer.url },
        env: isolatedEnv(home),
        runtimes: ["python3.12"],
        requirements,
        dryRun: true,
        noCache: true,
      });
    const chosen = (result: Awaited<ReturnType<typeof planFrom>>) =>
      result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`);

    it("ignores a yanked file when the requirement does not pin its version", async () => {
      const result = await planFrom(["lib"]);
      expect(chosen(result)).toEqual(["lib==1.0"]);
      expect(result.warnings).toEqual([]);
    });

    it("does not fall back to a yanked file for a range it alone satisfies", async () => {
      const error = await planFrom(["lib>=2"]).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "no-matching-distribution" });
      expect((error as Error).message).toContain(
        "lib 2.0: yanked (broken build); used only when pinned with == or === (PEP 592)",
      );
    });

    it.each(["lib==2.0", "lib===2.0", "lib==2.0.0"])(
      "uses it when %s pins that exact version, with a warning giving the reason",
      async (requirement) => {
        const result = await planFrom([requirement]);
        expect(chosen(result)).toEqual(["lib==2.0"]);
        expect(result.plan.targets[0]!.packages[0]!.yanked).toBe("broken build");
        expect(result.warnings).toEqual([
          `lib 2.0 is yanked (reason: broken build); it is used because ${requirement} pins that exact version (PEP 592).`,
        ]);
      },
    );

    it("a wildcard is not an exact pin; a yanked file without a reason says so", async () => {
      await expect(planFrom(["lib==2.*"])).rejects.toMatchObject({
        code: "no-matching-distribution",
      });
      const result = await planFrom(["other==1.0"]);
      expect(result.warnings).toEqual([
        "other 1.0 is yanked (no reason given); it is used because other==1.0 pins that exact version (PEP 592).",
      ]);
    });
  });
});
