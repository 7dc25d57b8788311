/**
 * The Terraform recipe (examples/terraform) run for real: `terraform init` and `terraform
 * apply` of the example, unchanged, against the AWS emulator (an `*_override.tf` file points
 * the provider there), then `terraform plan -detailed-exitcode` after pylayer rebuilt the
 * zip in another cache: no change (exit 0) while the dependencies are the same, a change
 * (exit 2, the layer version replaced) when a pin moves.
 *
 * Needs `terraform` on PATH and the hashicorp/aws provider in a filesystem mirror, since no
 * test reaches a registry: PYLAYER_TERRAFORM_PROVIDERS names the mirror folder (the layout
 * `terraform providers mirror` writes), else Terraform's implicit local mirrors are looked
 * at. Without terraform the test is skipped with a message (CI too: CI does not install
 * Terraform); with terraform but no provider it is skipped, except under PYLAYER_CI=1,
 * where it fails.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../aws/moto.js";
import { runCli, runProgram } from "../helpers/cli.js";
import { indexForFile } from "../helpers/index-server.js";
import { motoForFile } from "../helpers/moto.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";
import { requestsWheels } from "./fixtures.js";

const example = fileURLToPath(new URL("../../examples/terraform/", import.meta.url));

/** Terraform's implicit local mirrors (CLI configuration docs, "Implied Local Mirror Directories"). */
function impliedMirrors(): string[] {
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return [
    join(homedir(), ".terraform.d", "plugins"),
    join(dataHome, "terraform", "plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
  ];
}

/** What this machine lacks for the test, or the provider mirror to use. */
function terraformSetup(): { mirror: string } | { missing: string; required: boolean } {
  const version = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (version.status !== 0) return { missing: "no terraform on PATH", required: false };
  const given = process.env.PYLAYER_TERRAFORM_PROVIDERS;
  const candidates = given ? [given] : impliedMirrors();
  const mirror = candidates.find((folder) =>
    existsSync(join(folder, "registry.terraform.io", "hashicorp", "aws")),
  );
  if (mirror !== undefined) return { mirror };
  return {
    missing: `no hashicorp/aws provider in ${given ? `PYLAYER_TERRAFORM_PROVIDERS (${given})` : `Terraform's implied mirrors (${candidates.join(", ")})`}; set PYLAYER_TERRAFORM_PROVIDERS to a folder filled by \`terraform providers mirror\``,
    required: true,
  };
}

const setup = terraformSetup();
if ("missing" in setup) {
  if (setup.required && process.env.PYLAYER_CI === "1") {
    throw new Error(`terraform is installed but cannot run the example: ${setup.missing}`);
  }
  console.warn(`\n*** SKIPPING the Terraform recipe test: ${setup.missing} ***\n`);
}
const moto = "mirror" in setup ? await motoForFile() : undefined;
const server = await indexForFile([
  ...requestsWheels(),
  buildWheel({ name: "urllib3", version: "2.2.3" }),
]);

describe.skipIf(moto === undefined || !("mirror" in setup))(
  "examples/terraform with the real terraform against the AWS emulator",
  () => {
    it("applies the layer; a rebuild in another cache plans no change, a moved pin plans a replacement", async () => {
      const mirror = (setup as { mirror: string }).mirror;
      const folder = join(await temporaryFolder("pylayer-terraform-"), "terraform");
      await cp(example, folder, { recursive: true });
      // The provider, pointed at the emulator; the example itself stays as users copy it.
      await writeFile(
        join(folder, "emulator_override.tf"),
        `provider "aws" {
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    lambda = ${JSON.stringify(moto!.endpoint)}
  }
}
`,
      );
      const terraformHome = await temporaryFolder();
      const cliConfig = join(terraformHome, "terraform.rc");
      await writeFile(
        cliConfig,
        `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`,
      );
      const terraformEnv = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: terraformHome,
        TF_CLI_CONFIG_FILE: cliConfig,
        TF_IN_AUTOMATION: "1",
        TF_INPUT: "0",
        CHECKPOINT_DISABLE: "1",
      };
      const layerName = uniqueName("pylayer-terraform");
      const terraform = (...args: string[]) =>
        runProgram("terraform", [...args, "-no-color"], { cwd: folder, env: terraformEnv });
      const plan = () => terraform("plan", "-detailed-exitcode", `-var=layer_name=${layerName}`);
      // The README's command, each time with a cache (and HOME) of its own.
      const build = async () => {
        await rm(join(folder, "build"), { recursive: true, force: true });
        const result = await runCli(
          ["build", "-r", "requirements.txt", "--runtime", "python3.12", "--arch", "arm64"].concat([
            "-o",
            "build/layer.zip",
          ]),
          { cwd: folder, env: isolatedEnv(await temporaryFolder(), { PIP_INDEX_URL: server.url }) },
        );
        expect(result.code, result.stderr).toBe(0);
      };

      await build();
      const init = await terraform("init");
      expect(init.code, init.output).toBe(0);
      const apply = await terraform("apply", "-auto-approve", `-var=layer_name=${layerName}`);
      expect(apply.code, apply.output).toBe(0);
      expect(apply.output).toContain(`:layer:${layerName}:1`);

      await build();
      const unchanged = await plan();
      expect(unchanged.output).toContain("No changes.");
      expect(unchanged.code, unchanged.output).toBe(0);

      await writeFile(join(folder, "requirements.txt"), "requests>=2.31\nurllib3==2.2.3\n");
      await build();
      const changed = await plan();
      expect(changed.code, changed.output).toBe(2);
      expect(changed.output).toContain("aws_lambda_layer_version.deps must be replaced");
    }, 300_000);
  },
);
