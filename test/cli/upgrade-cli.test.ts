/**
 * `pylayer build` keeps the last build's versions where they fit (src/pipeline/plan.ts);
 * `--upgrade` resolves every package afresh, and its versions are kept after it.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { writeFileIndex } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const FIRST = [
  buildWheel({ name: "app", version: "1.0", requires: ["helper"] }),
  buildWheel({ name: "helper", version: "1.0" }),
  buildWheel({ name: "other", version: "1.0" }),
  buildWheel({ name: "extra", version: "1.0" }),
];

describe("pylayer build --upgrade", () => {
  it("keeps helper 1.0 when other is added, and takes helper 2.0 with --upgrade", async () => {
    const home = await temporaryFolder();
    const cwd = await temporaryFolder();
    const index = await temporaryFolder();
    const env = isolatedEnv(home);
    const indexUrl = await writeFileIndex(index, FIRST);
    const build = async (requirements: string[], ...flags: string[]) => {
      const args = ["build", ...requirements, "--runtime", "python3.12", "--index-url", indexUrl];
      const result = await runCli([...args, "--json", "--no-check", ...flags], { cwd, env });
      expect(result.code, result.stderr).toBe(0);
      const plan = JSON.parse(result.stdout) as {
        targets: { packages: { name: string; version: string }[] }[];
      };
      return plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`);
    };
    expect(await build(["app"], "-o", "layer.zip")).toEqual(["app==1.0", "helper==1.0"]);
    await writeFileIndex(index, [...FIRST, buildWheel({ name: "helper", version: "2.0" })]);
    // A dry run takes the kept versions too, and leaves them for the build it previews.
    expect(await build(["app", "other"], "--dry-run")).toEqual([
      "app==1.0",
      "helper==1.0",
      "other==1.0",
    ]);
    expect(await build(["app", "other"], "--dry-run", "--upgrade")).toEqual([
      "app==1.0",
      "helper==2.0",
      "other==1.0",
    ]);
    expect(await build(["app", "other"], "-o", "layer.zip")).toEqual([
      "app==1.0",
      "helper==1.0",
      "other==1.0",
    ]);
    expect(await build(["app", "other", "extra"], "-o", "layer.zip", "--upgrade")).toEqual([
      "app==1.0",
      "extra==1.0",
      "helper==2.0",
      "other==1.0",
    ]);
    expect(await build(["app"], "-o", "layer.zip")).toEqual(["app==1.0", "helper==2.0"]);
  });
});
