/**
 * The flags and outputs of issue 19's index and resolver points, through the `pylayer`
 * executable: search budget, index outage policy, yank warnings, timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const range = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer(
    [
      ...range(6).map((i) =>
        buildWheel({ name: "left", version: `${i}.0`, requires: [`c>=${i + 3}`] }),
      ),
      ...range(6).map((i) => buildWheel({ name: "right", version: `${i}.0`, requires: ["c<=3"] })),
      ...range(10).map((i) => buildWheel({ name: "c", version: `${i}.0` })),
      buildWheel({ name: "pinned", version: "1.0" }),
      buildWheel({ name: "pinned", version: "2.0" }),
    ],
    { yanked: { [buildWheel({ name: "pinned", version: "2.0" }).filename]: "bad <release>" } },
  );
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

function pylayer(args: string[]) {
  return runCli(["build", "--index-url", server.url, "--dry-run", "--no-cache", ...args], {
    env: isolatedEnv(home),
  });
}

describe("--resolver-budget", () => {
  it("names the conflict when the budget runs out (exit 1)", async () => {
    const result = await pylayer(["left", "right", "--resolver-budget", "8", "--json"]);
    expect(result.code).toBe(1);
    const error = JSON.parse(result.stdout).error;
    expect(error.code).toBe("resolution-too-complex");
    expect(error.message).toContain(
      "gave up after trying 8 candidates without settling this conflict on c",
    );
    expect(error.details.conflict.map((item: { requiredBy: string }) => item.requiredBy)).toEqual([
      expect.stringMatching(/^left \d+\.0$/),
      expect.stringMatching(/^right \d+\.0$/),
    ]);
  });

  it.each(["0", "-3", "2.5", "many"])(
    "refuses --resolver-budget %s as a usage error",
    async (value) => {
      const result = await pylayer(["c", `--resolver-budget=${value}`]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--resolver-budget ${value} is not a positive whole number`);
    },
  );

  it("is listed in --help", async () => {
    const help = await runCli(["build", "--help"]);
    expect(help.stdout).toContain("--resolver-budget");
  });
});

describe("a yanked file pinned with ==", () => {
  const warning =
    "pinned 2.0 is yanked (reason: bad <release>); it is used because pinned==2.0 pins that exact version (PEP 592).";

  it("is warned about with its reason in --json", async () => {
    const result = await pylayer(["pinned==2.0", "--json"]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.warnings).toEqual([warning]);
    expect(json.targets[0].packages[0]).toMatchObject({ name: "pinned", yanked: "bad <release>" });
  });

  it("is warned about with its reason in the text output", async () => {
    const result = await pylayer(["pinned==2.0"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(warning);
  });
});
