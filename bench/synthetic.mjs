/**
 * A synthetic package index of realistic shape for the benchmark, generated
 * deterministically (seeded PRNG), written as a PEP 503 folder:
 * `simple/<project>/index.html` and `files/<wheel>` with PEP 658 `.metadata` files.
 *
 * Shape: ~35 projects, ~30 MB of chosen wheels. A few large native packages (big
 * incompressible shared libraries plus hundreds of small modules and test suites), a
 * botocore-like data package (hundreds of compressible JSON files), pure-Python packages
 * of all sizes, a dependency graph four levels deep, several versions per project, newer
 * releases that need a newer glibc than Amazon Linux 2 (both tools must skip them),
 * version ranges that rule out the newest release, wheels for other platforms and
 * Pythons, and sdists (never chosen: only binaries are allowed).
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { zipSync } from "fflate";

const MANYLINUX_X86 = "manylinux_2_17_x86_64.manylinux2014_x86_64";
/**
 * The Python versions and architectures of Lambda's runtimes: the chosen release of every
 * native project ships a full wheel for each (as numpy or pydantic-core do), so that
 * `build --matrix` has something to build for all twelve targets.
 */
export const MATRIX_PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13", "3.14"];
const MATRIX_PLATFORMS = {
  x86_64: "manylinux_2_17_x86_64.manylinux2014_x86_64",
  aarch64: "manylinux_2_17_aarch64.manylinux2014_aarch64",
};

/** Platforms of wheels that exist on the index but never run on python3.11 x86_64 glibc 2.26. */
const OTHER_PLATFORMS = [
  "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64",
  "cp311-cp311-musllinux_1_2_x86_64",
  "cp311-cp311-macosx_11_0_arm64",
  "cp311-cp311-win_amd64",
  "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
];

/**
 * The projects. `chosen` is the version python3.11 x86_64 must end up with; `versions`
 * lists every release on the index; `newerGlibc` releases only have manylinux_2_28 wheels.
 * Sizes are the uncompressed amounts of each kind of content in the chosen wheel.
 */
const PROJECTS = [
  // Top-level requirements.
  {
    name: "webframe",
    requires: ["routing>=1", "templating", "httpcore-lite", "validator>=2"],
    py: 1_600_000,
    modules: 180,
    tests: 60,
  },
  {
    name: "dataframe-lite",
    requires: ["numeric>=1.0", "dateutil-lite", "tzdata-lite"],
    native: [1_500_000, 600_000],
    py: 4_500_000,
    modules: 700,
    tests: 300,
  },
  {
    name: "cloudkit",
    requires: ["cloudcore>=1.0", "transfer", "jmes-lite"],
    py: 300_000,
    modules: 40,
  },
  {
    name: "ormcore",
    requires: ["greenlet-lite", "typing-ext"],
    native: [400_000],
    py: 3_000_000,
    modules: 260,
    tests: 40,
  },
  {
    name: "httpclient",
    requires: ["httpcore-lite", "idna-lite", "certs", "anyio-lite", "crypto-lite"],
    py: 500_000,
    modules: 50,
  },
  {
    name: "tasks-queue",
    requires: ["kombu-lite", "billiard-lite", "vine-lite", "click-lite"],
    py: 1_500_000,
    modules: 160,
    tests: 50,
  },
  // Second and deeper levels.
  { name: "routing", requires: ["typing-ext"], py: 150_000, modules: 15 },
  { name: "templating", requires: ["markup-safe>=1.1"], py: 600_000, modules: 30 },
  { name: "markup-safe", native: [60_000], py: 40_000, modules: 4 },
  { name: "httpcore-lite", requires: ["h11-lite", "certs"], py: 350_000, modules: 40 },
  { name: "h11-lite", py: 120_000, modules: 12, tests: 10 },
  { name: "certs", py: 20_000, modules: 2, data: { "cacert.pem": 290_000 } },
  {
    name: "validator",
    requires: ["validator-core==2.14.1", "typing-ext", "annotated"],
    py: 1_800_000,
    modules: 110,
    versions: ["1.10.0", "2.9.0", "2.10.1"],
  },
  {
    name: "validator-core",
    native: [3_200_000],
    py: 150_000,
    modules: 4,
    versions: ["2.14.1", "2.15.0"],
    chosen: "2.14.1",
  },
  { name: "typing-ext", py: 130_000, modules: 1 },
  { name: "annotated", py: 15_000, modules: 2 },
  {
    name: "numeric",
    native: [5_000_000, 2_000_000],
    py: 5_500_000,
    modules: 600,
    tests: 250,
    versions: ["1.24.4", "1.26.4", "2.2.6"],
    newerGlibc: ["2.2.6"],
  },
  {
    name: "dateutil-lite",
    requires: ["six-lite>=1.1"],
    py: 500_000,
    modules: 25,
    data: { "zoneinfo/dateutil-zoneinfo.tar.gz": -170_000 },
  },
  { name: "six-lite", py: 35_000, modules: 1 },
  { name: "tzdata-lite", py: 10_000, modules: 2, zoneFiles: 600 },
  {
    name: "cloudcore",
    requires: ["jmes-lite<2", "dateutil-lite", "urllib-lite>=1.1,!=1.2.0"],
    py: 1_500_000,
    modules: 90,
    json: 600,
    versions: ["1.33.0", "1.34.2", "2.0.0"],
    chosen: "1.34.2",
  },
  { name: "transfer", requires: ["cloudcore>=1.33,<2"], py: 250_000, modules: 20 },
  { name: "jmes-lite", py: 80_000, modules: 8, versions: ["1.0.1", "2.0.0"], chosen: "1.0.1" },
  { name: "urllib-lite", py: 700_000, modules: 40, chosen: "1.1.0" },
  { name: "greenlet-lite", native: [900_000], py: 60_000, modules: 5, tests: 30 },
  { name: "idna-lite", py: 350_000, modules: 8 },
  { name: "anyio-lite", requires: ["idna-lite>=1.1", "sniffer"], py: 700_000, modules: 60 },
  { name: "sniffer", py: 10_000, modules: 2 },
  {
    name: "crypto-lite",
    requires: ["cffi-lite>=1.1"],
    native: [3_000_000],
    py: 500_000,
    modules: 90,
    abi3: true,
    tests: 40,
  },
  { name: "cffi-lite", requires: ["parser-lite"], native: [300_000], py: 400_000, modules: 20 },
  { name: "parser-lite", py: 450_000, modules: 20 },
  { name: "kombu-lite", requires: ["amqp-lite>=1.2", "vine-lite"], py: 900_000, modules: 70 },
  { name: "amqp-lite", requires: ["vine-lite>=1.0"], py: 250_000, modules: 15 },
  { name: "vine-lite", py: 40_000, modules: 8 },
  { name: "billiard-lite", native: [200_000], py: 500_000, modules: 30, tests: 20 },
  { name: "click-lite", py: 450_000, modules: 16, scripts: { clicky: "click_lite.cli:main" } },
];

/**
 * A layer near Lambda's 250 MB unzipped limit, shaped like `numpy scipy pandas lxml`
 * (228 MB unzipped, 70 MB zip): large native libraries (compressible as machine code is,
 * not ELF), thousands of modules and test suites. Written only when asked (`nearLimit`),
 * never part of the matrix, and not in `chosen`: the benchmark builds it alone to measure
 * peak memory on a layer near the limit.
 */
const NEAR_LIMIT_PROJECTS = [
  {
    name: "arraykit",
    nearLimit: true,
    nativeCode: [24_000_000, 9_000_000, 2_500_000, 1_200_000, 900_000, 700_000],
    py: 7_000_000,
    modules: 500,
    tests: 350,
  },
  {
    name: "scikit-sci",
    nearLimit: true,
    requires: ["arraykit>=1"],
    nativeCode: [
      34_000_000, 6_000_000, 4_500_000, 4_000_000, 3_500_000, 3_000_000, 2_800_000, 2_600_000,
      2_400_000, 2_200_000, 2_000_000, 1_800_000, 1_600_000, 1_400_000, 1_200_000, 1_000_000,
    ],
    py: 16_000_000,
    modules: 1200,
    tests: 700,
  },
  {
    name: "frames",
    nearLimit: true,
    requires: ["arraykit>=1", "dateutil-lite", "tzdata-lite"],
    nativeCode: [
      7_000_000, 3_000_000, 2_500_000, 2_000_000, 1_800_000, 1_600_000, 1_400_000, 1_200_000,
    ],
    py: 22_000_000,
    modules: 1000,
    tests: 1100,
  },
  {
    name: "xmlkit",
    nearLimit: true,
    nativeCode: [9_000_000, 4_000_000, 1_000_000],
    py: 1_500_000,
    modules: 60,
    tests: 40,
  },
];

/** The near-limit layer's requirements (see NEAR_LIMIT_PROJECTS). */
export const NEAR_LIMIT_REQUIREMENTS = ["arraykit", "scikit-sci", "frames", "xmlkit"];

/** The requirement set the benchmark builds. */
export const REQUIREMENTS = [
  "webframe",
  "dataframe-lite",
  "cloudkit",
  "ormcore",
  "httpclient",
  "tasks-queue",
];

/** [wheel tag, CPython extension tag] of every matrix target a native project's wheels cover. */
function matrixTags(project) {
  const tags = [];
  for (const [architecture, platform] of Object.entries(MATRIX_PLATFORMS)) {
    if (project.abi3) {
      tags.push([`cp37-abi3-${platform}`, ""]);
      continue;
    }
    for (const python of MATRIX_PYTHONS) {
      const abi = `cp${python.replace(".", "")}`;
      tags.push([`${abi}-${abi}-${platform}`, `${abi.slice(2)}-${architecture}`]);
    }
  }
  return tags;
}

/** A 32-bit string hash (FNV-1a), to seed one PRNG per project and tag. */
function hashCode(text) {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193) >>> 0;
  }
  return hash;
}

/** Mulberry32: a small, fast, seedable PRNG. */
function prng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  "data value result index buffer config request response session client server handler parser token stream chunk frame array table column row record field schema model query filter cache store entry item node tree path name key size count offset length limit timeout retry error state context option flag mode level event signal task queue worker pool thread process lock socket address header body payload encode decode format convert validate normalize resolve compute update create delete fetch load save read write open close start stop run apply merge split join".split(
    " ",
  );

function identifier(random) {
  const first = WORDS[Math.floor(random() * WORDS.length)];
  const second = WORDS[Math.floor(random() * WORDS.length)];
  return random() < 0.5 ? first : `${first}_${second}`;
}

/** Plausible Python of about `size` bytes: classes, functions, docstrings, literals. */
function pythonSource(random, size, imports) {
  const lines = [`"""${identifier(random)} ${identifier(random)} support."""`, ""];
  for (const name of imports) lines.push(`import ${name}`);
  lines.push("", "");
  let length = lines.join("\n").length;
  while (length < size) {
    let block;
    if (random() < 0.35) {
      const name = identifier(random).replace(/(^|_)(\w)/g, (_m, _u, c) => c.toUpperCase());
      const methods = [];
      for (let index = 0; index < 2 + Math.floor(random() * 4); index++) {
        const method = identifier(random);
        methods.push(
          `    def ${method}(self, first_${identifier(random)}, second_${identifier(random)}=None):\n        """Return the ${identifier(random)} of the ${identifier(random)}."""\n        if ${identifier(random)} is None:\n            return self._${identifier(random)}\n        return [${identifier(random)} for ${identifier(random)} in self.${identifier(random)} if ${identifier(random)}]\n`,
        );
      }
      block = `class ${name}:\n    """A ${identifier(random)} ${identifier(random)}."""\n\n    ${identifier(random)} = ${Math.floor(random() * 1000)}\n\n${methods.join("\n")}\n`;
    } else {
      const name = identifier(random);
      block = `def ${name}(first_${identifier(random)}, second_${identifier(random)}=${Math.floor(random() * 64)}):\n    """Compute the ${identifier(random)} from ${identifier(random)}."""\n    ${identifier(random)} = {"${identifier(random)}": ${Math.floor(random() * 1e6)}, "${identifier(random)}": "${identifier(random)}"}\n    for ${identifier(random)} in range(${Math.floor(random() * 100)}):\n        ${identifier(random)} += ${identifier(random)}\n    return ${identifier(random)}\n\n\n`;
    }
    lines.push(block);
    length += block.length;
  }
  return lines.join("\n");
}

function jsonDocument(random, size) {
  const parts = ['{\n  "version": "2.0",\n  "operations": {\n'];
  let length = parts[0].length;
  while (length < size) {
    const part = `    "${identifier(random)}${Math.floor(random() * 100)}": {"name": "${identifier(random)}", "http": {"method": "POST", "requestUri": "/${identifier(random)}/{${identifier(random)}}"}, "input": {"shape": "${identifier(random)}Request"}, "documentation": "<p>Returns the ${identifier(random)} of the ${identifier(random)} for the ${identifier(random)}.</p>"},\n`;
    parts.push(part);
    length += part.length;
  }
  parts.push('    "end": {}\n  }\n}\n');
  return parts.join("");
}

function randomBytes(random, size) {
  const bytes = new Uint8Array(size);
  for (let index = 0; index < size; index += 4) {
    const value = (random() * 4294967296) >>> 0;
    bytes[index] = value & 0xff;
    bytes[index + 1] = (value >>> 8) & 0xff;
    bytes[index + 2] = (value >>> 16) & 0xff;
    bytes[index + 3] = value >>> 24;
  }
  return bytes;
}

/**
 * Bytes that deflate about as well as shared libraries do (2.5–3×): runs of zeros and of
 * repeated words between stretches of low-entropy bytes.
 */
function machineCodeLike(random, size) {
  const bytes = new Uint8Array(size);
  const opcodes = randomBytes(random, 256);
  let index = 0;
  while (index < size) {
    const kind = random();
    const length = Math.min(size - index, 16 + Math.floor(random() * 240));
    if (kind < 0.3) {
      index += length; // zeros
    } else if (kind < 0.5) {
      const word = Math.floor(random() * 4294967296);
      for (let at = 0; at < length; at++) bytes[index + at] = (word >>> ((at & 3) * 8)) & 0xff;
      index += length;
    } else {
      for (let at = 0; at < length; at += 4) {
        let value = (random() * 4294967296) >>> 0;
        for (let byte = 0; byte < 4 && at + byte < length; byte++) {
          bytes[index + at + byte] = opcodes[value & 0x3f];
          value >>>= 8;
        }
      }
      index += length;
    }
  }
  return bytes;
}

const encoder = new TextEncoder();
const moduleOf = (name) => name.replace(/-/g, "_");
const escapeName = (name) => name.replace(/[-_.]+/g, "_");
const recordHash = (bytes) => `sha256=${createHash("sha256").update(bytes).digest("base64url")}`;

/**
 * The files (path → bytes or text, level) of the full wheel of `project`; native code is
 * named for `extensionTag` (CPython's `311-x86_64`).
 */
function projectFiles(project, random, extensionTag = "311-x86_64") {
  const files = [];
  const top = moduleOf(project.name);
  const deps = (project.requires ?? []).map((requirement) =>
    moduleOf(requirement.split(/[<>=!;\s]/)[0]),
  );
  const moduleCount = project.modules ?? 1;
  const moduleSize = Math.max(200, Math.floor((project.py ?? 2000) / moduleCount));
  const folders = Math.max(1, Math.floor(Math.sqrt(moduleCount / 4)));
  files.push([
    `${top}/__init__.py`,
    `${pythonSource(random, 400, deps.slice(0, 2))}\n__version__ = "${project.chosen}"\n`,
  ]);
  for (let index = 1; index < moduleCount; index++) {
    const folder = index % folders === 0 ? "" : `sub${index % folders}/`;
    if (folder !== "" && index < folders) files.push([`${top}/${folder}__init__.py`, ""]);
    files.push([
      `${top}/${folder}${identifier(random)}_${index}.py`,
      pythonSource(random, moduleSize * (0.3 + random() * 1.4), []),
    ]);
    if (random() < 0.15)
      files.push([
        `${top}/${folder}${identifier(random)}_${index}.pyi`,
        `def ${identifier(random)}() -> int: ...\n`,
      ]);
  }
  for (let index = 0; index < (project.tests ?? 0); index++) {
    files.push([
      `${top}/tests/test_${identifier(random)}_${index}.py`,
      pythonSource(random, 3000 + random() * 6000, [top]),
    ]);
  }
  if (project.tests) files.push([`${top}/tests/__init__.py`, ""]);
  for (const [index, size] of (project.native ?? []).entries()) {
    const name =
      index === 0
        ? `${top}/_core${project.abi3 ? ".abi3" : `.cpython-${extensionTag}-linux-gnu`}.so`
        : `${top}.libs/lib${identifier(random)}-${index}.so.1`;
    files.push([name, randomBytes(random, size), 0]);
  }
  for (const [index, size] of (project.nativeCode ?? []).entries()) {
    const name =
      index === 0
        ? `${top}/_core.cpython-${extensionTag}-linux-gnu.so`
        : `${top}.libs/lib${identifier(random)}-${index}.so`;
    files.push([name, machineCodeLike(random, size), 6]);
  }
  for (const [path, size] of Object.entries(project.data ?? {})) {
    files.push([
      `${top}/${path}`,
      size < 0 ? randomBytes(random, -size) : jsonDocument(random, size),
      size < 0 ? 0 : 6,
    ]);
  }
  for (let index = 0; index < (project.json ?? 0); index++) {
    const service = `${identifier(random)}${index}`;
    files.push([
      `${top}/data/${service}/2024-01-01/service-2.json`,
      jsonDocument(random, 8_000 + random() * 40_000),
    ]);
  }
  for (let index = 0; index < (project.zoneFiles ?? 0); index++) {
    files.push([
      `${top}/zoneinfo/Region${index % 12}/${identifier(random)}${index}`,
      randomBytes(random, 800 + Math.floor(random() * 2400)),
      0,
    ]);
  }
  return files;
}

function metadataText(project, version) {
  const lines = [
    "Metadata-Version: 2.1",
    `Name: ${project.name}`,
    `Version: ${version}`,
    "Requires-Python: >=3.8",
  ];
  for (const requirement of project.requires ?? []) lines.push(`Requires-Dist: ${requirement}`);
  lines.push(`Requires-Dist: pytest; extra == "test"`);
  lines.push("", `The ${project.name} project (synthetic, for pylayer's benchmark).`, "");
  return lines.join("\n");
}

/** A wheel as bytes: files plus dist-info (METADATA, WHEEL, top_level.txt, entry points, RECORD). */
function wheelBytes(project, version, tag, files) {
  const distInfo = `${escapeName(project.name)}-${version}.dist-info`;
  const metadata = metadataText(project, version);
  const all = [
    ...files,
    [`${distInfo}/METADATA`, metadata],
    [
      `${distInfo}/WHEEL`,
      `Wheel-Version: 1.0\nGenerator: pylayer-bench\nRoot-Is-Purelib: ${tag.endsWith("none-any")}\nTag: ${tag.split(".")[0]}\n`,
    ],
    [`${distInfo}/top_level.txt`, `${moduleOf(project.name)}\n`],
    [
      `${distInfo}/licenses/LICENSE`,
      "MIT License\n\nPermission is hereby granted, free of charge...\n",
    ],
  ];
  if (project.scripts) {
    all.push([
      `${distInfo}/entry_points.txt`,
      `[console_scripts]\n${Object.entries(project.scripts)
        .map(([n, v]) => `${n} = ${v}`)
        .join("\n")}\n`,
    ]);
  }
  const zippable = {};
  const record = [];
  for (const [path, content, level = 6] of all) {
    const bytes = typeof content === "string" ? encoder.encode(content) : content;
    zippable[path] = [bytes, { level, mtime: new Date(Date.UTC(2024, 0, 1)) }];
    record.push(`${path},${recordHash(bytes)},${bytes.length}`);
  }
  record.push(`${distInfo}/RECORD,,`);
  zippable[`${distInfo}/RECORD`] = [
    encoder.encode(`${record.join("\n")}\n`),
    { level: 6, mtime: new Date(Date.UTC(2024, 0, 1)) },
  ];
  return { bytes: zipSync(zippable), metadata };
}

function wheelName(project, version, tag) {
  return `${escapeName(project.name)}-${version}-${tag}.whl`;
}

/**
 * Writes the index into `folder` and returns what a correct resolution for python3.11
 * x86_64 picks: `{ requirements, chosen: Map<name, version>, chosenFiles: [filename],
 * chosenBytes, projectCount, matrixFiles, matrixBytes }` (the last two: the full wheels
 * written for the other matrix targets; none with `matrix: false`); with `nearLimit`, also
 * the near-limit layer's projects and `{ nearLimitRequirements, nearLimitBytes }`.
 */
export async function writeSyntheticIndex(
  folder,
  { seed = 7, matrix = true, nearLimit = false } = {},
) {
  const random = prng(seed);
  await mkdir(join(folder, "files"), { recursive: true });
  const chosen = new Map();
  const chosenFiles = [];
  let chosenBytes = 0;
  let projectCount = 0;
  let matrixFiles = 0;
  let matrixBytes = 0;
  let nearLimitBytes = 0;
  const projects = nearLimit ? [...PROJECTS, ...NEAR_LIMIT_PROJECTS] : PROJECTS;
  for (const base of projects) {
    const versions = base.versions ?? ["1.0.0", "1.1.0", "1.2.0"];
    const newerGlibc = new Set(base.newerGlibc ?? []);
    const project = {
      ...base,
      chosen: base.chosen ?? versions.filter((v) => !newerGlibc.has(v)).at(-1),
    };
    const native = (project.native ?? []).length > 0 || (project.nativeCode ?? []).length > 0;
    const mainTag = !native
      ? "py3-none-any"
      : project.abi3
        ? `cp37-abi3-${MANYLINUX_X86}`
        : `cp311-cp311-${MANYLINUX_X86}`;
    const links = [];
    const addFile = async (filename, bytes, metadata) => {
      await writeFile(join(folder, "files", filename), bytes);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      let attributes = `href="../../files/${filename}#sha256=${sha256}" data-requires-python="&gt;=3.8"`;
      let metadataHash;
      if (metadata !== undefined) {
        await writeFile(join(folder, "files", `${filename}.metadata`), metadata);
        metadataHash = createHash("sha256").update(metadata).digest("hex");
        attributes += ` data-dist-info-metadata="sha256=${metadataHash}" data-core-metadata="sha256=${metadataHash}"`;
      }
      links.push({ filename, sha256, size: bytes.length, metadataHash, attributes });
    };
    const stubFiles = [[`${moduleOf(project.name)}/__init__.py`, `__version__ = "stub"\n`]];
    for (const version of versions) {
      if (version === project.chosen) {
        const { bytes, metadata } = wheelBytes(
          project,
          version,
          mainTag,
          projectFiles(project, random),
        );
        const filename = wheelName(project, version, mainTag);
        await addFile(filename, bytes, metadata);
        if (project.nearLimit) {
          nearLimitBytes += bytes.length;
        } else {
          chosen.set(project.name, version);
          chosenFiles.push(filename);
          chosenBytes += bytes.length;
        }
      } else {
        const tag = newerGlibc.has(version) ? "cp311-cp311-manylinux_2_28_x86_64" : mainTag;
        const { bytes, metadata } = wheelBytes(project, version, tag, stubFiles);
        await addFile(wheelName(project, version, tag), bytes, metadata);
      }
      if (native && matrix && !project.nearLimit && version === project.chosen) {
        // The same Python files, other native code: a full wheel for every other target.
        for (const [tag, extensionTag] of matrixTags(project)) {
          if (tag === mainTag) continue;
          const targetRandom = prng(seed + hashCode(`${project.name} ${tag}`));
          const { bytes, metadata } = wheelBytes(
            project,
            version,
            tag,
            projectFiles(project, targetRandom, extensionTag),
          );
          await addFile(wheelName(project, version, tag), bytes, metadata);
          matrixFiles++;
          matrixBytes += bytes.length;
        }
      }
      if (native) {
        // Stubs for other platforms; none where the release has full wheels (the chosen
        // one) or needs a newer glibc.
        const stubs =
          version === project.chosen || newerGlibc.has(version)
            ? OTHER_PLATFORMS.filter((tag) => !tag.includes("manylinux"))
            : OTHER_PLATFORMS;
        for (const other of stubs) {
          const { bytes, metadata } = wheelBytes(project, version, other, stubFiles);
          await addFile(wheelName(project, version, other), bytes, metadata);
        }
      }
      const sdist = `${escapeName(project.name)}-${version}.tar.gz`;
      await addFile(sdist, encoder.encode("not a real sdist"), undefined);
    }
    await mkdir(join(folder, "simple", project.name), { recursive: true });
    const anchors = links
      .map((link) => `    <a ${link.attributes}>${link.filename}</a><br/>`)
      .join("\n");
    await writeFile(
      join(folder, "simple", project.name, "index.html"),
      `<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" content="1.1"><title>Links for ${project.name}</title></head>\n  <body>\n    <h1>Links for ${project.name}</h1>\n${anchors}\n  </body>\n</html>\n`,
    );
    await writeFile(
      join(folder, "simple", project.name, "index.json"),
      JSON.stringify({
        meta: { "api-version": "1.1" },
        name: project.name,
        versions,
        files: links.map((link) => ({
          filename: link.filename,
          url: `../../files/${link.filename}`,
          hashes: { sha256: link.sha256 },
          "requires-python": ">=3.8",
          size: link.size,
          ...(link.metadataHash === undefined
            ? {}
            : {
                "core-metadata": { sha256: link.metadataHash },
                "dist-info-metadata": { sha256: link.metadataHash },
              }),
        })),
      }),
    );
    projectCount++;
  }
  const names = projects.map((project) => project.name).sort();
  await writeFile(
    join(folder, "simple", "index.html"),
    `<!DOCTYPE html>\n<html><body>\n${names.map((name) => `<a href="${name}/">${name}</a>`).join("\n")}\n</body></html>\n`,
  );
  return {
    requirements: REQUIREMENTS,
    chosen,
    chosenFiles,
    chosenBytes,
    projectCount,
    matrixFiles,
    matrixBytes,
    ...(nearLimit ? { nearLimitRequirements: NEAR_LIMIT_REQUIREMENTS, nearLimitBytes } : {}),
  };
}

/**
 * A wheel holding one package of `packages × modulesPerPackage` modules that all get
 * imported by `import coldstart_app`: the cold-import experiment's "large dependency tree".
 */
export async function writeColdStartWheel(
  folder,
  { packages = 40, modulesPerPackage = 50, seed = 11 } = {},
) {
  const random = prng(seed);
  const project = { name: "coldstart-app", chosen: "1.0.0" };
  const files = [];
  const subpackages = [];
  for (let packageIndex = 0; packageIndex < packages; packageIndex++) {
    const subpackage = `part${packageIndex}`;
    subpackages.push(subpackage);
    const modules = [];
    for (let moduleIndex = 0; moduleIndex < modulesPerPackage; moduleIndex++) {
      const module = `mod${moduleIndex}`;
      modules.push(module);
      files.push([
        `coldstart_app/${subpackage}/${module}.py`,
        pythonSource(random, 1500 + random() * 3000, ["os", "re"]),
      ]);
    }
    files.push([
      `coldstart_app/${subpackage}/__init__.py`,
      `${modules.map((module) => `from . import ${module}`).join("\n")}\n`,
    ]);
  }
  files.push([
    "coldstart_app/__init__.py",
    `${subpackages.map((name) => `from . import ${name}`).join("\n")}\n`,
  ]);
  await mkdir(folder, { recursive: true });
  const tag = "py3-none-any";
  const { bytes } = wheelBytes(project, "1.0.0", tag, files);
  const filename = wheelName(project, "1.0.0", tag);
  await writeFile(join(folder, filename), bytes);
  return { filename, modules: packages * modulesPerPackage + packages + 1, size: bytes.length };
}
