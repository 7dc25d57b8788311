/**
 * What the Terraform and CloudFormation recipes (examples/terraform, examples/cloudformation)
 * rely on: the same inputs give the same zip bytes, whatever the cache folder, working
 * folder, time zone or umask of the build. Terraform's `source_code_hash =
 * filebase64sha256(…)` and `aws cloudformation package`'s MD5-named upload then see no
 * change, so no new layer version is published. The second part runs the real
 * `aws cloudformation package` (the AWS CLI of python3.11) against the AWS emulator.
 */
import { createHash } from "node:crypto";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createBucket, motoEnv, uniqueName } from "../aws/moto.js";
import { PYLAYER_BIN, runCli, runProgram } from "../helpers/cli.js";
import { indexForFile } from "../helpers/index-server.js";
import { MOTO_PYTHON, motoForFile } from "../helpers/moto.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { requestsWheels } from "./fixtures.js";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const moto = await motoForFile();
const server = await indexForFile(requestsWheels());

/**
 * `pylayer build -r requirements.txt … -o build/layer.zip` in a fresh copy of an example
 * folder, with a cache and HOME of its own; returns the zip path.
 */
async function buildExample(
  name: string,
  variant: { timeZone: string; umask: string },
): Promise<{ zip: string; folder: string; sha256: string; base64: string }> {
  const home = await temporaryFolder("pylayer-home-");
  const folder = join(await temporaryFolder("pylayer-work-"), name);
  await cp(join(examples, name), folder, { recursive: true });
  const env = isolatedEnv(home, { TZ: variant.timeZone, PIP_INDEX_URL: server.url });
  // The umask applies to everything the shell's child writes (cache, temporaries, the zip).
  const result = await runProgram(
    "sh",
    [
      "-c",
      `umask ${variant.umask} && exec "$0" "$@"`,
      process.execPath,
      PYLAYER_BIN,
      "build",
      "-r",
      "requirements.txt",
      "--runtime",
      "python3.12",
      "--arch",
      "arm64",
      "-o",
      "build/layer.zip",
    ],
    { cwd: folder, env },
  );
  expect(result.code, result.output).toBe(0);
  const zip = join(folder, "build", "layer.zip");
  const bytes = await readFile(zip);
  return {
    zip,
    folder,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    base64: createHash("sha256").update(bytes).digest("base64"),
  };
}

describe("the same inputs give the same bytes (Terraform and CloudFormation recipes)", () => {
  it("builds byte-identical zips in two working folders with two caches, time zones and umasks", async () => {
    const first = await buildExample("terraform", { timeZone: "UTC", umask: "022" });
    const second = await buildExample("terraform", { timeZone: "Asia/Kolkata", umask: "077" });
    expect(first.folder).not.toBe(second.folder);
    expect(second.sha256).toBe(first.sha256);
    // filebase64sha256(), as Terraform computes it, is what pylayer prints as CodeSha256.
    const printed = await runCli(
      ["build", "-r", "requirements.txt", "--runtime", "python3.12"].concat([
        "--arch",
        "arm64",
        "-o",
        "build/layer.zip",
      ]),
      {
        cwd: first.folder,
        env: isolatedEnv(await temporaryFolder(), { PIP_INDEX_URL: server.url }),
      },
    );
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain(`CodeSha256 ${first.base64}`);
  });

  it.skipIf(moto === undefined)(
    "aws cloudformation package uploads both builds under one S3 key: the packaged templates are equal",
    async () => {
      const awscli = await runProgram(MOTO_PYTHON, ["-m", "awscli", "--version"], {
        cwd: examples,
        env: process.env,
      });
      if (awscli.code !== 0) {
        console.warn(
          `\n*** SKIPPING aws cloudformation package: no AWS CLI for ${MOTO_PYTHON} ***\n`,
        );
        return;
      }
      const bucket = uniqueName("pylayer-cfn");
      await createBucket(moto!.endpoint, "us-east-1", bucket);
      const packaged: string[] = [];
      for (const variant of [
        { timeZone: "UTC", umask: "022" },
        { timeZone: "America/Los_Angeles", umask: "027" },
      ]) {
        const build = await buildExample("cloudformation", variant);
        const env = {
          ...motoEnv(moto!.endpoint),
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: await temporaryFolder(),
        };
        const result = await runProgram(
          MOTO_PYTHON,
          ["-m", "awscli", "cloudformation", "package", "--template-file", "template.yaml"]
            .concat(["--s3-bucket", bucket, "--output-template-file", "packaged.yaml"])
            .concat(["--endpoint-url", moto!.endpoint]),
          { cwd: build.folder, env },
        );
        expect(result.code, result.output).toBe(0);
        const template = await readFile(join(build.folder, "packaged.yaml"), "utf8");
        // The zip is uploaded as it is, named by the MD5 of its bytes.
        const md5 = createHash("md5")
          .update(await readFile(build.zip))
          .digest("hex");
        expect(template).toContain(`S3Key: ${md5}`);
        packaged.push(template);
      }
      expect(packaged[1]).toBe(packaged[0]);
    },
  );
});
