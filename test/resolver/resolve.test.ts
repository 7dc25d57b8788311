// Resolver scenarios. Semantics follow pip's resolver: PEP 440 version matching and
// pre-release handling ("Handling of pre-releases": a pre-release is admitted when allowed
// or when a specifier names one, judged over all specifiers on a project together),
// PEP 508 extras (unknown extras warn and are ignored, as pip does), and pip's constraints
// (`-c`: restrict versions, never install, no extras).
import { describe, expect, it } from "vitest";
import { isPylayerError, type PylayerError } from "../../src/errors.js";
import type { Requirement } from "../../src/pep508/index.js";
import { type Resolution, type ResolveOptions, resolve } from "../../src/resolver/index.js";
import {
  MemoryProvider,
  type MemoryProviderOptions,
  type PackageIndex,
  requirement,
  type TestCandidate,
} from "./memory-provider.js";

interface Scenario {
  readonly index: PackageIndex;
  readonly requirements: readonly string[];
  readonly constraints?: readonly string[];
  readonly allowPrereleases?: boolean;
  readonly target?: string;
  readonly budget?: number;
  readonly provider?: MemoryProviderOptions;
}

function optionsOf(scenario: Scenario): ResolveOptions {
  return {
    requirements: scenario.requirements.map(requirement),
    constraints: (scenario.constraints ?? []).map(requirement),
    ...(scenario.allowPrereleases === undefined
      ? {}
      : { allowPrereleases: scenario.allowPrereleases }),
    ...(scenario.target === undefined ? {} : { target: scenario.target }),
    ...(scenario.budget === undefined ? {} : { budget: scenario.budget }),
  };
}

async function run(
  scenario: Scenario,
  providerOptions: MemoryProviderOptions = scenario.provider ?? {},
): Promise<{ result: Resolution<TestCandidate>; provider: MemoryProvider }> {
  const provider = new MemoryProvider(scenario.index, providerOptions);
  const result = await resolve(provider, optionsOf(scenario));
  return { result, provider };
}

/** `name==version[extras]` per package, the shape the tables below expect. */
function pins(result: Resolution<TestCandidate>): string[] {
  return result.packages.map(
    (item) =>
      `${item.name}==${item.candidate.version.text}${item.extras.length > 0 ? `[${item.extras.join(",")}]` : ""}`,
  );
}

async function failure(
  scenario: Scenario,
  providerOptions?: MemoryProviderOptions,
): Promise<PylayerError> {
  try {
    await run(scenario, providerOptions);
  } catch (error) {
    if (isPylayerError(error)) return error;
    throw error;
  }
  throw new Error("expected the resolution to fail");
}

const successes: { name: string; scenario: Scenario; expected: string[]; warnings?: string[] }[] = [
  {
    name: "simple chain, newest versions",
    scenario: {
      index: {
        a: { "1.0": { dependencies: ["b"] }, "0.9": {} },
        b: { "2.0": { dependencies: ["c>=1"] }, "1.0": {} },
        c: { "1.1": {}, "1.0": {}, "0.5": {} },
      },
      requirements: ["a"],
    },
    expected: ["a==1.0", "b==2.0", "c==1.1"],
  },
  {
    name: "diamond: both parents' requirements on the shared project hold",
    scenario: {
      index: {
        a: { "1.0": { dependencies: ["c>=1"] } },
        b: { "1.0": { dependencies: ["c<2"] } },
        c: { "2.0": {}, "1.5": {}, "1.0": {}, "0.1": {} },
      },
      requirements: ["a", "b"],
    },
    expected: ["a==1.0", "b==1.0", "c==1.5"],
  },
  {
    name: "backtracking: newest a needs b<1 but root needs b>=1, so an older a",
    scenario: {
      index: {
        a: { "2.0": { dependencies: ["b<1"] }, "1.0": { dependencies: ["b>=1"] } },
        b: { "1.5": {}, "0.5": {} },
      },
      requirements: ["a", "b>=1"],
    },
    expected: ["a==1.0", "b==1.5"],
  },
  {
    name: "backtracking found late: b is pinned before a's conflicting requirement appears",
    scenario: {
      index: {
        a: { "2.0": { dependencies: ["c"] }, "1.0": {} },
        b: { "1.0": {} },
        c: { "1.0": { dependencies: ["b>=2"] } },
      },
      requirements: ["b", "a"],
    },
    expected: ["a==1.0", "b==1.0"],
  },
  {
    name: "extra with its own dependencies",
    scenario: {
      index: {
        a: { "1.0": { dependencies: ["b"], extras: { x: ["c>=2"] } } },
        b: { "1.0": {} },
        c: { "2.1": {}, "1.0": {} },
      },
      requirements: ["a[x]"],
    },
    expected: ["a==1.0[x]", "b==1.0", "c==2.1"],
  },
  {
    name: "extra added by another parent after the project is pinned",
    scenario: {
      index: {
        a: { "1.0": { extras: { x: ["c"] } } },
        b: { "1.0": { dependencies: ["a[x]"] } },
        c: { "1.0": {} },
      },
      requirements: ["a", "b"],
    },
    expected: ["a==1.0[x]", "b==1.0", "c==1.0"],
  },
  {
    name: "extras requested by different parents are unioned",
    scenario: {
      index: {
        a: { "1.0": { extras: { x: ["c"], y: ["d"] } } },
        b: { "1.0": { dependencies: ["a[y]"] } },
        c: { "1.0": {} },
        d: { "1.0": {} },
      },
      requirements: ["a[x]", "b"],
    },
    expected: ["a==1.0[x,y]", "b==1.0", "c==1.0", "d==1.0"],
  },
  {
    name: "an extra added later that cannot be satisfied forces an older version",
    scenario: {
      index: {
        a: {
          "2.0": { extras: { x: ["c>=2"] } },
          "1.0": { extras: { x: ["c"] } },
        },
        b: { "1.0": { dependencies: ["a[x]"] } },
        c: { "1.0": {} },
      },
      requirements: ["a", "b"],
    },
    expected: ["a==1.0[x]", "b==1.0", "c==1.0"],
  },
  {
    name: "unknown extra: warned about and ignored",
    scenario: { index: { a: { "1.0": { extras: { x: [] } } } }, requirements: ["a[nope]"] },
    expected: ["a==1.0"],
    warnings: ['a 1.0 does not provide the extra "nope"'],
  },
  {
    name: "circular dependencies",
    scenario: {
      index: { a: { "1.0": { dependencies: ["b"] } }, b: { "1.0": { dependencies: ["a>=1"] } } },
      requirements: ["a"],
    },
    expected: ["a==1.0", "b==1.0"],
  },
  {
    name: "self-dependency with extras: a[x] depends on a[y]",
    scenario: {
      index: { a: { "1.0": { extras: { x: ["a[y]"], y: ["c"] } } }, c: { "1.0": {} } },
      requirements: ["a[x]"],
    },
    expected: ["a==1.0[x,y]", "c==1.0"],
  },
  {
    name: "constraints restrict versions of needed projects",
    scenario: {
      index: { a: { "2.0": { dependencies: ["b"] }, "1.0": {} }, b: { "2.0": {}, "1.0": {} } },
      requirements: ["a"],
      constraints: ["b<2"],
    },
    expected: ["a==2.0", "b==1.0"],
  },
  {
    name: "constraints never cause an installation",
    scenario: {
      index: { a: { "1.0": {} }, z: { "1.0": {} } },
      requirements: ["a"],
      constraints: ["z<2"],
    },
    expected: ["a==1.0"],
  },
  {
    name: "pre-releases are excluded by default",
    scenario: { index: { a: { "2.0rc1": {}, "1.0": {} } }, requirements: ["a"] },
    expected: ["a==1.0"],
  },
  {
    name: "pre-releases allowed by the flag",
    scenario: {
      index: { a: { "2.0rc1": {}, "1.0": {} } },
      requirements: ["a"],
      allowPrereleases: true,
    },
    expected: ["a==2.0rc1"],
  },
  {
    name: "pre-releases allowed when a specifier names one",
    scenario: { index: { a: { "2.0rc1": {}, "1.0": {} } }, requirements: ["a>=2.0b1"] },
    expected: ["a==2.0rc1"],
  },
  {
    name: "pre-release rule over all specifiers on a project: >=1.0b1 from root, <3 from b",
    scenario: {
      index: { a: { "2.0rc1": {}, "1.0": {} }, b: { "1.0": { dependencies: ["a<3"] } } },
      requirements: ["a>=1.0b1", "b"],
    },
    expected: ["a==2.0rc1", "b==1.0"],
  },
  {
    name: "a constraint naming a pre-release admits pre-releases",
    scenario: {
      index: { a: { "2.0rc1": {}, "1.0": {} } },
      requirements: ["a"],
      constraints: ["a>=2.0rc1"],
    },
    expected: ["a==2.0rc1"],
  },
  {
    name: "a dependency on an older version than the newest, with names normalized",
    scenario: {
      index: {
        "my-app": { "1.0": { dependencies: ["Zope.Interface<5"] } },
        "zope-interface": { "6.0": {}, "4.7": {} },
      },
      requirements: ["My_App"],
    },
    expected: ["my-app==1.0", "zope-interface==4.7"],
  },
];

describe("resolve: successful resolutions", () => {
  it.each(successes)("$name", async ({ scenario, expected, warnings }) => {
    const { result } = await run(scenario);
    expect(pins(result)).toEqual(expected);
    expect(result.warnings).toEqual(warnings ?? []);
  });

  it("reports who required each package and with which requirement", async () => {
    const { result } = await run({
      index: {
        a: { "1.0": { dependencies: ["b>=1", "c"] } },
        b: { "1.0": { dependencies: ["a"] } },
        c: { "1.0": { dependencies: ["b<2"] } },
      },
      requirements: ["a", "b"],
    });
    expect(
      result.packages.map((item) => ({
        name: item.name,
        requiredBy: item.requiredBy,
        requirements: item.requirements,
      })),
    ).toEqual([
      { name: "a", requiredBy: ["root", "b"], requirements: ["a"] },
      { name: "b", requiredBy: ["root", "a", "c"], requirements: ["b", "b>=1", "b<2"] },
      { name: "c", requiredBy: ["a"], requirements: ["c"] },
    ]);
  });

  it("returns nothing for no requirements", async () => {
    const { result, provider } = await run({ index: {}, requirements: [] });
    expect(result.packages).toEqual([]);
    expect(provider.findCalls).toEqual([]);
  });

  it("accepts a provider that returns plain requirement arrays and has no prefetch", async () => {
    const { result } = await run(
      {
        index: {
          a: { "1.0": { dependencies: ["b"], extras: { x: ["c"] } } },
          b: { "1.0": {} },
          c: { "1.0": {} },
        },
        requirements: ["a[x]"],
      },
      { plainArrays: true, withoutPrefetch: true },
    );
    expect(pins(result)).toEqual(["a==1.0[x]", "b==1.0", "c==1.0"]);
  });
});

describe("resolve: errors", () => {
  it("explains a conflict as a chain of who required what", async () => {
    const error = await failure({
      index: { a: { "2.0": { dependencies: ["b<1"] }, "1.5": {} }, b: { "1.5": {}, "0.5": {} } },
      requirements: ["a>=2", "b>=1"],
      target: "python3.11-x86_64",
    });
    expect(error.code).toBe("resolution-impossible");
    expect(error.message).toBe(
      [
        "Conflicting requirements on b (python3.11-x86_64):",
        "  root requires a>=2",
        "  a 2.0 requires b<1",
        "  root requires b>=1",
      ].join("\n"),
    );
    expect(error.hint).toBe(
      "Relax one of these requirements, or require a version of a whose requirements on b are compatible.",
    );
    expect(error.details).toEqual({
      project: "b",
      target: "python3.11-x86_64",
      conflict: [
        {
          requirement: "b<1",
          requiredBy: "a 2.0",
          chain: ["root requires a>=2", "a 2.0 requires b<1"],
        },
        { requirement: "b>=1", requiredBy: "root", chain: ["root requires b>=1"] },
      ],
    });
  });

  it("explains a conflict between two dependencies several levels down", async () => {
    const error = await failure({
      index: {
        app: { "1.0": { dependencies: ["web", "db"] } },
        web: { "3.0": { dependencies: ["typing-x>=4"] } },
        db: { "2.0": { dependencies: ["typing-x<4"] } },
        "typing-x": { "4.1": {}, "3.9": {} },
      },
      requirements: ["app"],
    });
    expect(error.code).toBe("resolution-impossible");
    expect(error.message.split("\n")).toEqual([
      "Conflicting requirements on typing-x:",
      "  root requires app",
      "  app 1.0 requires web",
      "  web 3.0 requires typing-x>=4",
      "  app 1.0 requires db",
      "  db 2.0 requires typing-x<4",
    ]);
  });

  it("names an extra in the chain when the extra brings the conflicting requirement", async () => {
    const error = await failure({
      index: { a: { "1.0": { extras: { x: ["c>=2"] } } }, c: { "2.0": {}, "1.0": {} } },
      requirements: ["a[x]", "c<2"],
    });
    expect(error.message.split("\n")).toEqual([
      "Conflicting requirements on c:",
      "  root requires a[x]",
      "  a[x] 1.0 requires c>=2",
      "  root requires c<2",
    ]);
  });

  it("lists why each version was rejected when nothing matches, with a data-driven hint", async () => {
    const error = await failure({
      index: { numpy: { "2.4.6": {}, "2.3.0": {}, "2.2.6": {}, "1.26.4": {} } },
      requirements: ["numpy>=2.3"],
      target: "python3.11-x86_64",
      provider: {
        rejected: {
          numpy: [
            {
              version: "2.4.6",
              file: "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.whl",
              reason: "manylinux_2_27 needs glibc 2.27, python3.11 has 2.26",
            },
            {
              version: "2.4.6",
              file: "numpy-2.4.6-cp311-cp311-win_amd64.whl",
              reason: "win_amd64 is not Linux",
            },
            { version: "2.3.0", reason: "manylinux_2_28 needs glibc 2.28, python3.11 has 2.26" },
          ],
        },
      },
    });
    expect(error.code).toBe("no-matching-distribution");
    expect(error.message.split("\n")).toEqual([
      "No version of numpy satisfies numpy>=2.3 on python3.11-x86_64.",
      "Required by:",
      "  root requires numpy>=2.3",
      "Versions:",
      "  numpy 2.4.6: manylinux_2_27 needs glibc 2.27, python3.11 has 2.26 (and 1 more file)",
      "  numpy 2.3.0: manylinux_2_28 needs glibc 2.28, python3.11 has 2.26",
      "  numpy 2.2.6: excluded by numpy>=2.3 (from root)",
      "  numpy 1.26.4: excluded by numpy>=2.3 (from root)",
    ]);
    expect(error.hint).toBe(
      "numpy 2.2.6 is the newest version usable on python3.11-x86_64, but numpy>=2.3 (from root) excludes it: relax that requirement, or choose a target that the matching versions support.",
    );
    expect(error.details).toMatchObject({ project: "numpy", target: "python3.11-x86_64" });
  });

  it("names the parent chain when a dependency's requirement matches nothing usable", async () => {
    const error = await failure({
      index: {
        pandas: { "2.2.3": { dependencies: ["numpy<2"] } },
        numpy: { "2.4.6": {}, "1.26.4": {} },
      },
      requirements: ["pandas==2.2.3"],
      target: "python3.13-x86_64",
      provider: { rejected: { numpy: [{ version: "1.26.4", reason: "no wheel for cp313" }] } },
    });
    expect(error.code).toBe("no-matching-distribution");
    expect(error.message.split("\n")).toEqual([
      "No version of numpy satisfies numpy<2 on python3.13-x86_64.",
      "Required by:",
      "  root requires pandas==2.2.3",
      "  pandas 2.2.3 requires numpy<2",
      "Versions:",
      "  numpy 2.4.6: excluded by numpy<2 (from pandas 2.2.3)",
      "  numpy 1.26.4: no wheel for cp313",
    ]);
    expect(error.hint).toContain("require another version of pandas");
  });

  it("caps the version lines and keeps them all in details", async () => {
    const versions = Object.fromEntries(
      Array.from({ length: 15 }, (_, index) => [`1.${index}`, {}]),
    );
    const error = await failure({ index: { a: versions }, requirements: ["a>=2"] });
    const lines = error.message.split("\n");
    expect(lines.filter((line) => line.startsWith("  a 1."))).toHaveLength(10);
    expect(lines.at(-1)).toBe("  (5 more not shown)");
    expect(error.details).toMatchObject({ versions: expect.any(Array) });
    expect(error.details?.versions).toHaveLength(15);
  });

  it.each<{ name: string; index: PackageIndex; requirements: string[]; hint: string }>([
    {
      name: "only pre-releases exist",
      index: { a: { "1.0a1": {}, "0.9b2": {} } },
      requirements: ["a"],
      hint: "Only pre-releases of a match (newest: 1.0a1); allow them with --pre, or require one explicitly (e.g. a>=1.0a1).",
    },
    {
      name: "no version at all and no rejection",
      index: {},
      requirements: ["ghost"],
      hint: "Check the name ghost and that the package index serves it.",
    },
  ])("no-matching-distribution when $name", async ({ index, requirements, hint }) => {
    const error = await failure({ index, requirements });
    expect(error.code).toBe("no-matching-distribution");
    expect(error.hint).toBe(hint);
  });

  it("no-matching-distribution when every file is rejected for the target", async () => {
    const error = await failure({
      index: { a: { "1.0": {} } },
      requirements: ["a"],
      target: "python3.12-arm64",
      provider: { rejected: { a: [{ version: "1.0", reason: "only x86_64 wheels" }] } },
    });
    expect(error.code).toBe("no-matching-distribution");
    expect(error.message).toContain("  a 1.0: only x86_64 wheels");
    expect(error.hint).toBe(
      "No file of a can be used on python3.12-arm64; choose another target (runtime or architecture), or a package that ships a compatible wheel.",
    );
  });

  it("a constraint that conflicts with a requirement is an error", async () => {
    const error = await failure({
      index: { a: { "3.0": {}, "1.0": {} } },
      requirements: ["a>=2"],
      constraints: ["a<2"],
    });
    expect(error.code).toBe("resolution-impossible");
    expect(error.message.split("\n")).toEqual([
      "Conflicting requirements on a:",
      "  root requires a>=2",
      "  constraint a<2",
    ]);
  });

  it("a constraint that excludes every version is no-matching-distribution", async () => {
    const error = await failure({
      index: { a: { "2.0": {}, "1.0": {} } },
      requirements: ["a"],
      constraints: ["a==3.0"],
    });
    expect(error.code).toBe("no-matching-distribution");
    expect(error.message).toContain("No version of a satisfies the constraint a==3.0.");
    expect(error.message).toContain("  a 2.0: excluded by constraint a==3.0");
  });

  it.each([
    ["extras", requirement("a[x]<2")],
    [
      "an environment marker",
      {
        ...requirement("a<2"),
        marker: {
          kind: "compare",
          left: { kind: "variable", name: "os_name" },
          operator: "==",
          right: { kind: "literal", value: "posix" },
        },
      } as Requirement,
    ],
  ])("rejects a constraint with %s", async (_, constraint) => {
    const provider = new MemoryProvider({ a: { "1.0": {} } });
    await expect(
      resolve(provider, { requirements: [requirement("a")], constraints: [constraint] }),
    ).rejects.toMatchObject({
      code: "invalid-constraint",
    });
  });

  it.each<{ name: string; index: PackageIndex; requirements: string[] }>([
    {
      name: "a root requirement",
      index: { b: { "1.0": {} } },
      requirements: ["b @ https://user:secret@example.com/b-1.0-py3-none-any.whl"],
    },
    {
      name: "a dependency",
      index: { a: { "1.0": { dependencies: ["b @ https://user:secret@example.com/b.whl"] } } },
      requirements: ["a"],
    },
  ])(
    "rejects a direct URL in $name without leaking credentials",
    async ({ index, requirements }) => {
      const error = await failure({ index, requirements });
      expect(error.code).toBe("direct-url-unsupported");
      expect(error.message).not.toContain("secret");
    },
  );
});

/**
 * 20 versions each of a and b; a i requires c>=i and every b requires c<=3, so only a
 * version of a at most 3 works. Four unrelated projects are decided between c and b: a
 * resolver that backtracks chronologically would try their 20^4 combinations before
 * changing a, while backjumping returns straight to a.
 */
function manyBacktracks(): Scenario {
  const range = Array.from({ length: 20 }, (_, index) => index + 1);
  const unrelated = Object.fromEntries(range.map((i) => [`${i}.0`, {}]));
  return {
    index: {
      a: Object.fromEntries(range.map((i) => [`${i}.0`, { dependencies: [`c>=${i}`] }])),
      b: Object.fromEntries(range.map((i) => [`${i}.0`, { dependencies: ["c<=3"] }])),
      c: Object.fromEntries(range.map((i) => [`${i}.0`, {}])),
      x1: unrelated,
      x2: unrelated,
      x3: unrelated,
      x4: unrelated,
    },
    requirements: ["a", "x1", "x2", "x3", "x4", "b"],
  };
}

describe("resolve: a dependency whose project does not exist", () => {
  // pip backtracks: a project missing from the index has no version, so the version
  // that required it is rejected like any other conflict.
  it("backtracks to another version of the package that required it", async () => {
    const { result } = await run(
      {
        index: {
          a: { "2.0": { dependencies: ["ghost>=1"] }, "1.0": { dependencies: ["b"] } },
          b: { "1.0": {} },
        },
        requirements: ["a"],
      },
      { missingIsNotFound: true },
    );
    expect(pins(result)).toEqual(["a==1.0", "b==1.0"]);
  });

  it("reports the provider's not-found error with who required it when nothing else works", async () => {
    const error = await failure(
      { index: { a: { "2.0": { dependencies: ["ghost"] } } }, requirements: ["a"] },
      { missingIsNotFound: true },
    );
    expect(error.code).toBe("project-not-found");
    expect(error.message.split("\n")).toEqual([
      'No project named "ghost" found.',
      "Required by:",
      "  root requires a",
      "  a 2.0 requires ghost",
    ]);
    expect(error.details).toMatchObject({ project: "ghost" });
  });

  it("a root requirement on a missing project is the not-found error itself", async () => {
    const error = await failure(
      { index: {}, requirements: ["ghost"] },
      { missingIsNotFound: true },
    );
    expect(error.code).toBe("project-not-found");
    expect(error.message).toBe('No project named "ghost" found.');
  });
});

describe("resolve: search behaviour", () => {
  it("terminates on a conflict-heavy case with a bounded number of dependency lookups", async () => {
    const { result, provider } = await run({ ...manyBacktracks(), budget: 1000 });
    expect(pins(result)).toEqual([
      "a==3.0",
      "b==20.0",
      "c==3.0",
      "x1==20.0",
      "x2==20.0",
      "x3==20.0",
      "x4==20.0",
    ]);
    // At most one lookup per candidate examined: a 20..3, c 20..3, b 20..1, one per x.
    expect(provider.dependencyCalls.length).toBeLessThanOrEqual(18 + 18 + 20 + 4);
    expect(new Set(provider.dependencyCalls).size).toBe(provider.dependencyCalls.length);
  });

  it("an exhausted budget reports the conflict it could not settle, not a knob", async () => {
    const error = await failure({
      ...manyBacktracks(),
      budget: 50,
      target: "python3.12-x86_64",
    });
    expect(error.code).toBe("resolution-too-complex");
    const [headline, ...chain] = error.message.split("\n");
    expect(headline).toBe(
      "Dependency resolution for python3.12-x86_64 gave up after trying 50 candidates without settling this conflict on c:",
    );
    // Who needs what: a's versions need a newer c than every b allows.
    expect(chain).toEqual([
      "  root requires a",
      expect.stringMatching(/^ {2}a \d+\.0 requires c>=\d+$/),
      "  root requires b",
      expect.stringMatching(/^ {2}b \d+\.0 requires c<=3$/),
    ]);
    expect(error.message).not.toContain("maxRounds");
    expect(error.hint).toContain("--resolver-budget (default 200000)");
    expect(error.hint).toContain("bound the versions of a or b");
    expect(error.details).toMatchObject({ budget: 50, project: "c" });
  });

  it("fetches candidate lists once per name, concurrently for new names", async () => {
    const { provider } = await run({
      index: {
        a: { "1.0": { dependencies: ["p", "q", "r"] } },
        b: { "1.0": {} },
        c: { "1.0": {} },
        p: { "1.0": {} },
        q: { "1.0": { dependencies: ["a"] } },
        r: { "1.0": {} },
      },
      requirements: ["a", "b", "c"],
    });
    expect(provider.findCalls).toEqual(["a", "b", "c", "p", "q", "r"]);
    expect(provider.maxConcurrentFinds).toBe(3);
  });

  it("memoizes lookups while backtracking", async () => {
    const { provider } = await run(manyBacktracks());
    expect(new Set(provider.findCalls).size).toBe(provider.findCalls.length);
    expect(new Set(provider.dependencyCalls).size).toBe(provider.dependencyCalls.length);
  });

  it("prefetches the most likely candidate of each needed project", async () => {
    const { provider } = await run({
      index: {
        a: { "2.0": { dependencies: ["c"] }, "1.0": {} },
        b: { "3.0": {}, "2.0": {} },
        c: { "1.0": {} },
      },
      requirements: ["a", "b<3"],
    });
    expect(provider.prefetchCalls).toEqual([["a==2.0", "b==2.0"], ["c==1.0"]]);
  });
});

describe("resolve: determinism", () => {
  const scenarios: { name: string; scenario: Scenario }[] = [
    { name: "many backtracks", scenario: manyBacktracks() },
    {
      name: "extras and a late conflict",
      scenario: {
        index: {
          app: {
            "2.0": { dependencies: ["web[auth]", "db>=2", "cache"] },
            "1.0": { dependencies: ["web", "db"] },
          },
          web: {
            "3.0": { dependencies: ["util>=2"], extras: { auth: ["crypto>=40"] } },
            "2.0": { dependencies: ["util"], extras: { auth: ["crypto"] } },
          },
          db: {
            "2.1": { dependencies: ["util<2"] },
            "2.0": { dependencies: ["util<3"] },
            "1.0": {},
          },
          cache: { "1.0": { dependencies: ["web[fast]"] } },
          util: { "2.5": {}, "1.9": {} },
          crypto: { "41.0": {}, "39.0": {} },
        },
        requirements: ["app", "util"],
      },
    },
    {
      name: "a failure",
      scenario: {
        index: {
          a: { "2.0": { dependencies: ["b<1"] }, "1.0": { dependencies: ["b<0.5"] } },
          b: { "1.5": {}, "0.7": {} },
          c: { "1.0": { dependencies: ["b>=1"] } },
        },
        requirements: ["a", "c"],
      },
    },
  ];

  it.each(scenarios)("$name: same outcome under shuffled timing", async ({ scenario }) => {
    const outcome = async (seed?: number) => {
      try {
        const { result } = await run(scenario, seed === undefined ? {} : { seed });
        return JSON.stringify({
          packages: pins(result),
          warnings: result.warnings,
          detail: result.packages.map((item) => [item.requiredBy, item.requirements]),
        });
      } catch (error) {
        if (!isPylayerError(error)) throw error;
        return JSON.stringify(error.toJSON());
      }
    };
    const reference = await outcome();
    for (const seed of [1, 2, 3, 4, 5, 6]) expect(await outcome(seed)).toBe(reference);
  });
});
