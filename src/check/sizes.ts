/**
 * Size checks against Lambda's deployment package quotas (AWS Lambda developer guide,
 * "Lambda quotas"): 50 MB zipped for a direct upload, 250 MB unzipped for the function
 * and all its layers together.
 *
 * In bytes: the unzipped limit is 262,144,000 (the API's own error text: "Unzipped size must
 * be smaller than 262144000 bytes"); the direct-upload limit is 52,428,800 bytes of zip,
 * which the API enforces on the base64 request body as "Request must be smaller than
 * 69905067 bytes" (69,905,067 = 52,428,800 × 4 / 3, rounded up).
 */
import { formatBytes, percentOf } from "../strings.js";
import type { LayerFiles } from "./layer-files.js";
import { FINDING_CODES, type Finding, type SizeReport } from "./types.js";

export const ZIPPED_DIRECT_UPLOAD_LIMIT = 52_428_800;
export const UNZIPPED_LIMIT = 262_144_000;
/** Above this share of the unzipped limit, little room is left for the function's own code. */
export const UNZIPPED_WARNING_SHARE = 0.8;

export function measureSizes(files: Pick<LayerFiles, "reader">): SizeReport {
  const zipped = files.reader.size;
  const unzipped = files.reader.entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
  return {
    zipped,
    unzipped,
    zippedLimit: ZIPPED_DIRECT_UPLOAD_LIMIT,
    unzippedLimit: UNZIPPED_LIMIT,
    zippedPercent: percentOf(zipped, ZIPPED_DIRECT_UPLOAD_LIMIT),
    unzippedPercent: percentOf(unzipped, UNZIPPED_LIMIT),
    unzippedRoom: UNZIPPED_LIMIT - unzipped,
  };
}

/** Sizes in the binary units Lambda's "MB" quotas are counted in (strings.ts). */
const formatMegabytes = formatBytes;

/** `what` names the zip in messages: `layer` or `function package`. */
export function checkSizes(sizes: SizeReport, what = "layer"): Finding[] {
  const findings: Finding[] = [
    {
      code: FINDING_CODES.sizeSummary,
      severity: "info",
      message: `${formatMegabytes(sizes.zipped)} zipped (${sizes.zippedPercent.toFixed(1)}% of the 50 MiB direct-upload limit), ${formatMegabytes(sizes.unzipped)} unzipped (${sizes.unzippedPercent.toFixed(1)}% of the 250 MiB limit for a function and its layers; ${formatMegabytes(Math.max(0, sizes.unzippedRoom))} left)`,
      details: { ...sizes },
    },
  ];
  if (sizes.zipped > ZIPPED_DIRECT_UPLOAD_LIMIT) {
    findings.push({
      code: FINDING_CODES.sizeZippedOverDirectUpload,
      severity: "warning",
      message: `the zip is ${formatMegabytes(sizes.zipped)}, over the 50 MiB (${ZIPPED_DIRECT_UPLOAD_LIMIT.toLocaleString("en-US")} bytes) Lambda accepts in a direct upload`,
      hint: "Publish it through S3: pylayer publish --s3-bucket BUCKET (or build --publish … --s3-bucket BUCKET); or make it smaller with --slim or --exclude-runtime-provided.",
    });
  }
  if (sizes.unzipped > UNZIPPED_LIMIT) {
    findings.push({
      code: FINDING_CODES.sizeUnzippedOverLimit,
      severity: "error",
      message: `the ${what} is ${formatMegabytes(sizes.unzipped)} unzipped, over the 250 MiB (${UNZIPPED_LIMIT.toLocaleString("en-US")} bytes) Lambda allows for a function and all its layers; no function can use it`,
      hint: "Split the dependencies over several functions, leave out what the runtime provides (--exclude-runtime-provided), or use a container image (up to 10 GB).",
    });
  } else if (sizes.unzipped > UNZIPPED_LIMIT * UNZIPPED_WARNING_SHARE) {
    findings.push({
      code: FINDING_CODES.sizeUnzippedNearLimit,
      severity: "warning",
      message: `the ${what} is ${formatMegabytes(sizes.unzipped)} unzipped (${sizes.unzippedPercent.toFixed(1)}% of 250 MiB); only ${formatMegabytes(sizes.unzippedRoom)} is left for the function code and its other layers`,
      hint: "Leave out what the runtime provides (--exclude-runtime-provided) or packages the function does not import.",
    });
  }
  return findings;
}
