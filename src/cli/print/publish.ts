/** The result of publishing a layer zip: per-region lines for people, an object for `--json`. */
import type { PublishResult } from "../../aws/index.js";
import { formatBytes, type Ui } from "../ui.js";
import { withErrorsAsJson } from "./json.js";

export function publishJson(result: PublishResult): Record<string, unknown> {
  return {
    ok: result.ok,
    name: result.name,
    zip: result.zip,
    runtimes: result.runtimes,
    architectures: result.architectures,
    warnings: result.warnings,
    regions: withErrorsAsJson(result.regions),
  };
}

export function printPublishResult(ui: Ui, result: PublishResult): void {
  const { dim, green, red, bold } = ui.colors;
  for (const warning of result.warnings) ui.warn(warning);
  ui.info(
    dim(
      `${result.name}: ${formatBytes(result.zip.size)} (${formatBytes(result.zip.unzippedSize)} unzipped), CodeSha256 ${result.zip.codeSha256}, ${result.runtimes.join(", ")} on ${result.architectures.join(", ")}`,
    ),
  );
  const width = Math.max(...result.regions.map((region) => region.region.length));
  for (const region of result.regions) {
    const label = region.region.padEnd(width);
    if (region.status === "failed") {
      ui.out(`${red("failed   ")} ${label}  ${region.error?.code ?? ""}`);
      continue;
    }
    const status = region.status === "published" ? green("published") : bold("unchanged");
    const how =
      region.status === "published"
        ? region.upload === "s3"
          ? `via s3://${region.s3?.bucket}/${region.s3?.key}${region.s3?.deleted ? " (deleted after publishing)" : ""}`
          : "uploaded in the request"
        : region.reason;
    ui.out(`${status} ${label}  ${region.layerVersionArn ?? ""}  ${dim(how)}`);
    for (const permission of region.permissions) {
      const grantee =
        permission.organizationId !== undefined
          ? `organization ${permission.organizationId}`
          : permission.principal === "*"
            ? "every AWS account"
            : `account ${permission.principal}`;
      ui.info(
        dim(
          `  ${permission.status === "added" ? "granted" : "already granted"} lambda:GetLayerVersion to ${grantee}`,
        ),
      );
    }
  }
  for (const region of result.regions) {
    if (region.error !== undefined) {
      ui.error(`${region.region}: ${region.error.message}`, region.error.hint, region.error.code);
    }
  }
  const count = (status: string) =>
    result.regions.filter((region) => region.status === status).length;
  ui.info(
    dim(
      `${count("published")} published, ${count("unchanged")} unchanged, ${count("failed")} failed`,
    ),
  );
}
