/** The decision logic of publish, prune and attach, without any server. */
import { describe, expect, it } from "vitest";
import {
  bucketForRegion,
  checkUnzippedSize,
  chooseUploadRoute,
  DIRECT_UPLOAD_LIMIT,
  decidePublish,
  type ExistingVersion,
  type FunctionFacts,
  permissionStatements,
  planAttach,
  planPrune,
  resolveCompatibility,
  s3KeyFor,
  UNZIPPED_LIMIT,
  unappliedSettings,
} from "../../src/aws/index.js";
import { isPylayerError } from "../../src/errors.js";
import type { LayerManifest } from "../../src/layer/index.js";

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isPylayerError(error) ? error.code : `not a PylayerError: ${String(error)}`;
  }
  return undefined;
}

const LATEST: ExistingVersion = {
  version: 4,
  layerVersionArn: "arn:aws:lambda:us-east-1:123456789012:layer:deps:4",
  codeSha256: "AAAA",
  runtimes: ["python3.12", "python3.13"],
  architectures: ["arm64"],
};

describe("decidePublish", () => {
  const wanted = {
    codeSha256: "AAAA",
    runtimes: ["python3.13", "python3.12"],
    architectures: ["arm64"],
  };
  it.each([
    ["no version yet", undefined, wanted, false, "publish", /no version exists yet/],
    [
      "same content and compatibility, any order",
      LATEST,
      wanted,
      false,
      "skip",
      /version 4 has the same/,
    ],
    ["--force", LATEST, wanted, true, "publish", /--force/],
    [
      "other content",
      LATEST,
      { ...wanted, codeSha256: "BBBB" },
      false,
      "publish",
      /content changed since version 4 \(CodeSha256 AAAA → BBBB\)/,
    ],
    [
      "a runtime fewer",
      LATEST,
      { ...wanted, runtimes: ["python3.12"] },
      false,
      "publish",
      /compatible runtimes changed/,
    ],
    [
      "another architecture",
      LATEST,
      { ...wanted, architectures: ["x86_64"] },
      false,
      "publish",
      /architectures changed/,
    ],
    [
      "latest without CodeSha256",
      { ...LATEST, codeSha256: undefined },
      wanted,
      false,
      "publish",
      /CodeSha256 unknown/,
    ],
  ] as const)("%s", (_label, latest, target, force, action, reason) => {
    const decision = decidePublish(latest, target, force);
    expect(decision.action).toBe(action);
    expect(decision.reason).toMatch(reason);
  });
});

describe("unappliedSettings (issue 18, point 7)", () => {
  const latest = { ...LATEST, description: "old", license: "MIT" };
  it.each([
    [{}, undefined],
    [{ description: "old", license: "MIT" }, undefined],
    [
      { description: "new" },
      /--description "new" was not applied: .* --force to make a new version with it$/,
    ],
    [
      { description: "new", license: "Apache-2.0" },
      /--description "new" and --license "Apache-2.0" were not applied/,
    ],
  ] as const)("%j → %s", (wanted, expected) => {
    const message = unappliedSettings(latest, wanted);
    if (expected === undefined) expect(message).toBeUndefined();
    else expect(message).toMatch(expected);
  });
});

describe("resolveCompatibility", () => {
  const manifest: LayerManifest = {
    runtimes: ["python3.12"],
    architectures: ["x86_64"],
    layout: "python",
    packages: [],
  };
  it("takes the manifest by default", () => {
    expect(resolveCompatibility(manifest, {}, "layer.zip")).toMatchObject({
      runtimes: ["python3.12"],
      architectures: ["x86_64"],
      source: "manifest",
      warnings: [],
    });
  });
  it("lets flags override, normalizing and warning about targets the zip was not built for", () => {
    const result = resolveCompatibility(
      manifest,
      { architectures: ["aarch64", "x86_64"] },
      "layer.zip",
    );
    expect(result.architectures).toEqual(["arm64", "x86_64"]);
    expect(result.runtimes).toEqual(["python3.12"]);
    expect(result.source).toBe("manifest and flags");
    expect(result.warnings).toEqual([
      "layer.zip was built for architectures x86_64; it is published as compatible with arm64 too, as asked",
    ]);
  });
  it("needs both flags for a zip without a manifest", () => {
    expect(
      codeOf(() => resolveCompatibility(undefined, { runtimes: ["python3.12"] }, "x.zip")),
    ).toBe("publish-compatibility-unknown");
    expect(
      resolveCompatibility(
        undefined,
        { runtimes: ["python3.11"], architectures: ["x86_64"] },
        "x.zip",
      ).source,
    ).toBe("flags");
  });
  it("refuses unknown runtimes and architectures", () => {
    expect(codeOf(() => resolveCompatibility(manifest, { runtimes: ["python2.7"] }, "x.zip"))).toBe(
      "usage",
    );
    expect(
      codeOf(() => resolveCompatibility(manifest, { architectures: ["ppc64le"] }, "x.zip")),
    ).toBe("usage");
  });
});

describe("sizes and upload route", () => {
  it("refuses more than 262,144,000 bytes unzipped, and accepts exactly that", () => {
    expect(codeOf(() => checkUnzippedSize({ path: "a.zip", unzippedSize: UNZIPPED_LIMIT }))).toBe(
      undefined,
    );
    expect(
      codeOf(() => checkUnzippedSize({ path: "a.zip", unzippedSize: UNZIPPED_LIMIT + 1 })),
    ).toBe("layer-too-large");
  });
  it("sends up to 50 MB in the request and larger zips through S3, which needs a bucket", () => {
    expect(chooseUploadRoute({ path: "a.zip", size: DIRECT_UPLOAD_LIMIT }, [])).toBe("direct");
    expect(chooseUploadRoute({ path: "a.zip", size: DIRECT_UPLOAD_LIMIT }, ["bucket"])).toBe(
      "direct",
    );
    expect(chooseUploadRoute({ path: "a.zip", size: DIRECT_UPLOAD_LIMIT + 1 }, ["bucket"])).toBe(
      "s3",
    );
    expect(
      codeOf(() => chooseUploadRoute({ path: "a.zip", size: DIRECT_UPLOAD_LIMIT + 1 }, [])),
    ).toBe("publish-needs-s3-bucket");
  });
  it.each([
    [["shared"], "us-east-1", "shared"],
    [["artifacts-{region}"], "eu-west-1", "artifacts-eu-west-1"],
    [["shared", "eu-west-1=special"], "eu-west-1", "special"],
    [["eu-west-1=special", "shared"], "us-east-1", "shared"],
    [["eu-west-1=special"], "us-east-1", undefined],
  ])("bucketForRegion(%j, %s) = %s", (specs, region, bucket) => {
    expect(bucketForRegion(specs, region)).toBe(bucket);
  });
  it.each([
    [undefined, "deps/abc.zip"],
    ["", "deps/abc.zip"],
    ["layers", "layers/deps/abc.zip"],
    ["ci/layers/", "ci/layers/deps/abc.zip"],
  ])("s3KeyFor(%j) = %s", (prefix, key) => {
    expect(s3KeyFor(prefix, "deps", "abc")).toBe(key);
  });
});

describe("permissionStatements", () => {
  it("gives one statement per grantee with a fixed statement id", () => {
    expect(
      permissionStatements({
        organizationId: "o-abcdef1234",
        accounts: ["111122223333", "111122223333"],
      }),
    ).toEqual([
      { statementId: "pylayer-org-o-abcdef1234", principal: "*", organizationId: "o-abcdef1234" },
      { statementId: "pylayer-account-111122223333", principal: "111122223333" },
    ]);
    expect(permissionStatements({ public: true })).toEqual([
      { statementId: "pylayer-public", principal: "*" },
    ]);
    expect(permissionStatements({})).toEqual([]);
  });
  it.each([
    [{ public: true, organizationId: "o-abcdef1234" }],
    [{ public: true, accounts: ["111122223333"] }],
    [{ organizationId: "abc" }],
    [{ accounts: ["12345"] }],
  ])("refuses %j", (request) => {
    expect(codeOf(() => permissionStatements(request))).toBe("usage");
  });
});

describe("planPrune", () => {
  const arn = (version: number) => `arn:aws:lambda:us-east-1:123456789012:layer:deps:${version}`;
  const versions = [1, 2, 3, 4, 5, 6].map((version) => ({
    version,
    layerVersionArn: arn(version),
  }));
  const usedBy = new Map([
    [arn(2), ["api", "worker:3"]],
    [arn(6), ["api:7"]],
  ]);

  it("keeps the newest N and the versions in use, and says why", () => {
    const plan = planPrune(versions, usedBy, 2, false);
    expect(plan.keep.map((item) => [item.version, item.reason])).toEqual([
      [6, "one of the newest 2"],
      [5, "one of the newest 2"],
      [2, "used by api, worker:3"],
    ]);
    expect(plan.delete.map((item) => item.version)).toEqual([4, 3, 1]);
  });
  it("deletes used versions too with includeUsed", () => {
    const plan = planPrune(versions, usedBy, 2, true);
    expect(plan.delete.map((item) => [item.version, item.usedBy])).toEqual([
      [4, []],
      [3, []],
      [2, ["api", "worker:3"]],
      [1, []],
    ]);
  });
  it("orders by version whatever the input order, and handles keep ≥ count and keep 0", () => {
    const shuffled = [versions[3]!, versions[0]!, versions[5]!];
    expect(planPrune(shuffled, new Map(), 5, false).keep.map((item) => item.version)).toEqual([
      6, 4, 1,
    ]);
    expect(planPrune(shuffled, new Map(), 0, false).delete.map((item) => item.version)).toEqual([
      6, 4, 1,
    ]);
  });
  it("refuses a negative or fractional keep", () => {
    expect(codeOf(() => planPrune(versions, usedBy, -1, false))).toBe("usage");
    expect(codeOf(() => planPrune(versions, usedBy, 1.5, false))).toBe("usage");
  });
});

describe("planAttach", () => {
  const layer = (name: string, version: number) =>
    `arn:aws:lambda:us-east-1:123456789012:layer:${name}:${version}`;
  const fn = (layers: string[], overrides: Partial<FunctionFacts> = {}): FunctionFacts => ({
    functionName: "api",
    runtime: "python3.12",
    architectures: ["x86_64"],
    packageType: "Zip",
    layers,
    ...overrides,
  });
  const deps = (version: number, overrides = {}) => ({
    layerVersionArn: layer("deps", version),
    runtimes: ["python3.12"],
    architectures: ["x86_64"],
    ...overrides,
  });

  it("replaces an older version in place and keeps the order of the others", () => {
    expect(planAttach(fn([layer("a", 1), layer("deps", 3), layer("b", 2)]), deps(5))).toEqual({
      layers: [layer("a", 1), layer("deps", 5), layer("b", 2)],
      change: "replaced",
      replaced: layer("deps", 3),
    });
  });
  it("replaces a newer version too (attach pins what is asked)", () => {
    expect(planAttach(fn([layer("deps", 9)]), deps(5)).layers).toEqual([layer("deps", 5)]);
  });
  it("adds a new layer last", () => {
    expect(planAttach(fn([layer("a", 1)]), deps(5))).toEqual({
      layers: [layer("a", 1), layer("deps", 5)],
      change: "added",
    });
  });
  it("changes nothing when the version is already there", () => {
    expect(planAttach(fn([layer("a", 1), layer("deps", 5)]), deps(5)).change).toBe("unchanged");
  });
  it("drops a second copy of the same layer", () => {
    expect(
      planAttach(fn([layer("deps", 1), layer("a", 1), layer("deps", 2)]), deps(5)).layers,
    ).toEqual([layer("deps", 5), layer("a", 1)]);
  });
  it("counts to 5 layers: replacing at 5 is fine, adding a sixth is refused", () => {
    const five = [1, 2, 3, 4].map((index) => layer(`l${index}`, 1)).concat(layer("deps", 1));
    expect(planAttach(fn(five), deps(2)).layers).toHaveLength(5);
    const fiveOthers = [1, 2, 3, 4, 5].map((index) => layer(`l${index}`, 1));
    expect(codeOf(() => planAttach(fn(fiveOthers), deps(2)))).toBe("attach-too-many-layers");
  });
  it.each([
    ["another runtime", fn([], { runtime: "python3.11" }), deps(1), "attach-incompatible-runtime"],
    [
      "another architecture",
      fn([], { architectures: ["arm64"] }),
      deps(1),
      "attach-incompatible-architecture",
    ],
    [
      "no architecture on the function means x86_64",
      fn([], { architectures: [] }),
      deps(1, { architectures: ["arm64"] }),
      "attach-incompatible-architecture",
    ],
    [
      "an image function",
      fn([], { packageType: "Image", runtime: undefined }),
      deps(1),
      "attach-image-function",
    ],
    [
      "a layer without restrictions",
      fn([], { runtime: "nodejs22.x", architectures: ["arm64"] }),
      deps(1, { runtimes: [], architectures: [] }),
      undefined,
    ],
  ] as const)("%s", (_label, facts, layerFacts, code) => {
    expect(codeOf(() => planAttach(facts, layerFacts))).toBe(code);
  });
});
