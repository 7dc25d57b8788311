/**
 * Source builds with the common PEP 517 backends besides setuptools: hatchling,
 * flit-core and poetry-core, each resolved by pylayer into the isolated build
 * environment from the loopback index, whose wheels the test helpers repack from a local
 * Python's installed copies (Debian's python3-hatchling, flit, python3-poetry-core).
 * A backend that cannot be produced skips its case with a message, except on CI
 * (PYLAYER_CI=1 or CI set), where it fails.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildLayer } from "../../src/pipeline/index.js";
import { buildSdist, type CommonBackend, commonBackends, writeTree } from "../helpers/backends.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

vi.setConfig({ testTimeout: 300_000 });

const onCi =
  process.env.PYLAYER_CI === "1" || (process.env.CI !== undefined && process.env.CI !== "");
const backends = await commonBackends();
for (const [backend, why] of Object.entries(backends.missing)) {
  if (!onCi) console.warn(`${backend} source-build test skipped: ${why}`);
}

interface Case {
  backend: CommonBackend;
  name: string;
  /** Served as an sdist by the index, or required as a local project folder. */
  as: "sdist" | "folder";
  /** The wheel the backend writes (its own tag choice). */
  wheel: string;
  files: Record<string, string>;
}

const CASES: Case[] = [
  {
    backend: "hatchling",
    name: "hatchpkg",
    wheel: "hatchpkg-1.0-py2.py3-none-any.whl",
    as: "sdist",
    files: {
      "pyproject.toml":
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "hatchpkg"\nversion = "1.0"\ndependencies = ["helper>=1"]\n',
      "hatchpkg/__init__.py": 'VALUE = "hatchpkg 1.0"\n',
    },
  },
  {
    backend: "flit-core",
    name: "flitpkg",
    wheel: "flitpkg-1.0-py2.py3-none-any.whl",
    as: "folder",
    files: {
      "pyproject.toml":
        '[build-system]\nrequires = ["flit_core >=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n\n[project]\nname = "flitpkg"\nversion = "1.0"\ndescription = "A flit project"\ndependencies = ["helper>=1"]\n',
      "flitpkg/__init__.py": '"""A flit project."""\nVALUE = "flitpkg 1.0"\n',
    },
  },
  {
    backend: "poetry-core",
    name: "poetrypkg",
    wheel: "poetrypkg-1.0-py3-none-any.whl",
    as: "sdist",
    files: {
      "pyproject.toml":
        '[build-system]\nrequires = ["poetry-core>=1.0.0"]\nbuild-backend = "poetry.core.masonry.api"\n\n[tool.poetry]\nname = "poetrypkg"\nversion = "1.0"\ndescription = "A poetry project"\nauthors = ["Test <test@example.invalid>"]\n\n[tool.poetry.dependencies]\npython = "^3.8"\nhelper = ">=1"\n',
      "poetrypkg/__init__.py": 'VALUE = "poetrypkg 1.0"\n',
    },
  },
];

let server: IndexServer;
let home: string;

beforeAll(async () => {
  server = await startIndexServer(
    [...backends.wheels, buildWheel({ name: "helper", version: "1.5" })],
    {
      extraFiles: CASES.filter((item) => item.as === "sdist").map((item) => ({
        project: item.name,
        ...buildSdist({ name: item.name, version: "1.0", files: item.files }),
      })),
    },
  );
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

describe("source builds with hatchling, flit-core and poetry-core", () => {
  for (const { backend, name, as, wheel, files } of CASES) {
    const missing = backends.missing[backend];
    it.skipIf(missing !== undefined && !onCi)(
      `builds ${name} with ${backend} (${as})`,
      async () => {
        if (missing !== undefined) throw new Error(`${backend} is required on CI: ${missing}`);
        const cwd = await temporaryFolder();
        if (as === "folder") await writeTree(join(cwd, name), files);
        const messages: string[] = [];
        const result = await buildLayer({
          index: { indexUrl: server.url },
          env: isolatedEnv(home),
          cwd,
          runtimes: ["python3.11"],
          requirements: [as === "folder" ? `./${name}` : name],
          onEvent: (event) => messages.push(event.message),
        });
        const packages = result.plan.targets[0]!.packages;
        expect(packages.map((item) => `${item.name}==${item.version}`).sort()).toEqual(
          ["helper==1.5", `${name}==1.0`].sort(),
        );
        const planned = packages.find((item) => item.name === name)!;
        expect(planned).toMatchObject({ filename: wheel, pure: true });
        expect(planned.source?.kind).toBe(as === "folder" ? "directory" : "sdist");
        const backendModule = JSON.parse(
          /build-backend = (".*")/.exec(files["pyproject.toml"]!)![1]!,
        ) as string;
        expect(messages.some((message) => message.includes(`from source (${backendModule},`))).toBe(
          true,
        );
        const entries = await unzipFile(result.zips[0]!.path);
        expect(new TextDecoder().decode(entries[`python/${name}/__init__.py`])).toContain(
          `VALUE = "${name} 1.0"`,
        );
      },
    );
  }
});
