/**
 * The module reading its archive from S3 with boto3 (python3.11 has boto3 here, as the
 * Lambda runtime does), against moto_server (test/helpers/moto.ts).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeBundleResult } from "../../src/coldstart/index.js";
import { motoForFile } from "../helpers/moto.js";
import { DEMO_WHEELS, PROBE } from "./fixtures.js";
import { bundleFromWheels, findPython, runPython, writeHandler } from "./helpers.js";

const python = findPython("3.11");
const hasBoto3 =
  python !== undefined &&
  spawnSync(python, ["-c", "import boto3"], { encoding: "utf8" }).status === 0;
if (!hasBoto3) {
  if (process.env.PYLAYER_CI === "1") {
    throw new Error("the S3 tests need python3.11 with boto3 on CI");
  }
  console.warn("skipping the S3 tests of pylayer_runtime.py: python3.11 with boto3 is missing");
}
const moto = hasBoto3 ? await motoForFile() : undefined;

describe.skipIf(moto === undefined)("pylayer_runtime.py with an s3:// source (moto_server)", () => {
  let root: string;
  const endpoint = moto?.endpoint ?? "";
  let bundle: RuntimeBundleResult;
  const bucket = `pylayer-coldstart-${randomBytes(4).toString("hex")}`;
  const credentials = {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_DEFAULT_REGION: "us-east-1",
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "pylayer-coldstart-s3-"));
    bundle = await bundleFromWheels(root, DEMO_WHEELS, ["demo"], {
      runtimes: ["python3.11"],
      bundled: false,
      s3: `s3://${bucket}/deps/`,
    });
    const upload = spawnSync(
      python!,
      [
        "-c",
        "import sys, boto3\n" +
          "client = boto3.client('s3', endpoint_url=sys.argv[1])\n" +
          "client.create_bucket(Bucket=sys.argv[2])\n" +
          "client.upload_file(sys.argv[3], sys.argv[2], sys.argv[4])\n",
        endpoint,
        bucket,
        bundle.archive!.path,
        `deps/${bundle.archive!.name}`,
      ],
      { encoding: "utf8", env: { ...process.env, ...credentials } },
    );
    expect(upload.status, upload.stderr).toBe(0);
    // The function package holds the module only: the archive lives in S3.
    await rm(bundle.archive!.path);
    await writeHandler(join(root, "task"), PROBE, "probe.py");
  }, 90_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const run = (tmp: string, extra: Record<string, string> = {}) => {
    const task = join(root, "task");
    return runPython(python!, join(task, "probe.py"), task, {
      ...credentials,
      AWS_ENDPOINT_URL_S3: endpoint,
      PYLAYER_TMP: tmp,
      PYLAYER_AUTOLOAD: "0",
      LAMBDA_TASK_ROOT: task,
      ...extra,
    });
  };

  it("downloads the generated s3:// source, verifies it, extracts it and imports from it", async () => {
    expect(bundle.sources).toEqual([`s3://${bucket}/deps/${bundle.archive!.name}`]);
    const tmp = await mkdtemp(join(root, "tmp-"));
    const result = await run(tmp);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { value?: string; tree?: string };
    expect(report.value).toBe("demo helper 2.1");
    expect(result.stderr).toMatch(
      new RegExp(
        `^\\[pylayer_runtime\\] extracted \\d+ files .* from s3://${bucket}/deps/${bundle.archive!.name} into `,
      ),
    );
    // The download went to a temporary file that is gone; only the tree remains.
    expect(await readdir(join(tmp, "pylayer"))).toEqual([bundle.archive!.sha256.slice(0, 16)]);
  });

  it("reports a missing object as not-found, with boto3's error as the cause", async () => {
    const tmp = await mkdtemp(join(root, "tmp-"));
    const result = await run(tmp, { PYLAYER_ARCHIVE: `s3://${bucket}/deps/missing.zip` });
    const { error } = JSON.parse(result.stdout) as {
      error?: { type: string; kind: string; message: string; cause: string };
    };
    expect(error).toEqual({
      type: "ArchiveFetchError",
      kind: "not-found",
      message: expect.stringContaining(`cannot read s3://${bucket}/deps/missing.zip: NoSuchKey`),
      cause: "NoSuchKey",
    });
    expect(await readdir(join(tmp, "pylayer"))).toEqual([]);
  });
});
