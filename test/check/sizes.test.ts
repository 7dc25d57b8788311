import { describe, expect, it } from "vitest";
import type { LayerFiles } from "../../src/check/layer-files.js";
import {
  checkSizes,
  measureSizes,
  UNZIPPED_LIMIT,
  ZIPPED_DIRECT_UPLOAD_LIMIT,
} from "../../src/check/sizes.js";

/** A stand-in for a layer: only the sizes matter here. */
function layer(zipped: number, unzippedEntries: number[]): LayerFiles {
  return {
    reader: {
      size: zipped,
      entries: unzippedEntries.map((uncompressedSize) => ({ uncompressedSize })),
    },
  } as unknown as LayerFiles;
}

describe("Lambda's size limits", () => {
  it("uses the byte values of Lambda's quotas", () => {
    // 50 MB direct upload = 52,428,800 bytes (the API's base64 limit 69,905,067 = ⌈× 4/3⌉);
    // 250 MB unzipped = 262,144,000 bytes (the API's error text).
    expect(ZIPPED_DIRECT_UPLOAD_LIMIT).toBe(52_428_800);
    expect(Math.ceil((ZIPPED_DIRECT_UPLOAD_LIMIT * 4) / 3)).toBe(69_905_067);
    expect(UNZIPPED_LIMIT).toBe(262_144_000);
  });

  it("measures zipped and unzipped sizes with percentages and room left", () => {
    const sizes = measureSizes(layer(16_862_000, [50_000_000, 8_635_886]));
    expect(sizes).toMatchObject({
      zipped: 16_862_000,
      unzipped: 58_635_886,
      zippedPercent: 32.2,
      unzippedPercent: 22.4,
      unzippedRoom: 262_144_000 - 58_635_886,
    });
    const [summary] = checkSizes(sizes);
    expect(summary).toMatchObject({ code: "size-summary", severity: "info" });
    expect(summary!.message).toBe(
      "16.1 MiB zipped (32.2% of the 50 MiB direct-upload limit), 55.9 MiB unzipped (22.4% of the 250 MiB limit for a function and its layers; 194 MiB left)",
    );
  });

  // Table: (zipped, unzipped) → the non-summary findings.
  const cases: [string, number, number, [string, string][]][] = [
    ["well under both limits", 10_000_000, 40_000_000, []],
    [
      "exactly at both limits",
      ZIPPED_DIRECT_UPLOAD_LIMIT,
      UNZIPPED_LIMIT,
      [["size-unzipped-near-limit", "warning"]],
    ],
    [
      "one byte over the direct upload",
      ZIPPED_DIRECT_UPLOAD_LIMIT + 1,
      100_000_000,
      [["size-zipped-over-direct-upload", "warning"]],
    ],
    ["over 80% unzipped", 40_000_000, 220_000_000, [["size-unzipped-near-limit", "warning"]]],
    [
      "over the unzipped limit",
      90_000_000,
      UNZIPPED_LIMIT + 1,
      [
        ["size-zipped-over-direct-upload", "warning"],
        ["size-unzipped-over-limit", "error"],
      ],
    ],
  ];
  it("names pylayer's remedy for a zip over the direct upload: --s3-bucket (issue 18, point 14)", () => {
    const over = checkSizes(measureSizes(layer(ZIPPED_DIRECT_UPLOAD_LIMIT + 1, [1000]))).find(
      (finding) => finding.code === "size-zipped-over-direct-upload",
    );
    expect(over?.hint).toMatch(/^Publish it through S3: pylayer publish --s3-bucket BUCKET/);
  });

  for (const [label, zipped, unzipped, expected] of cases) {
    it(label, () => {
      const findings = checkSizes(measureSizes(layer(zipped, [unzipped]))).slice(1);
      expect(findings.map((finding) => [finding.code, finding.severity])).toEqual(expected);
    });
  }
});
