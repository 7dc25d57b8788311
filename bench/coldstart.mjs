#!/usr/bin/env node
/**
 * Runtime-mode cold start benchmark: builds a runtime bundle of synthetic wheels
 * (about 100 MB unzipped, in many files, like a scientific stack) with pylayer's library
 * from dist/, then runs the generated pylayer_runtime.py with a real interpreter and reads
 * the time it logs: the first load (hash the archive, check the space, extract, rename)
 * and a later load in a new process (a stat). Prints a Markdown table.
 *
 * Usage: npm run bench:coldstart [-- --python python3.12 --size-mb 100 --runs 5 --keep]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { zipSync } from "fflate";

const { values } = parseArgs({
  options: {
    python: { type: "string", default: "python3.11" },
    "size-mb": { type: "string", default: "100" },
    runs: { type: "string", default: "5" },
    keep: { type: "boolean", default: false },
  },
});
const python = values.python;
const targetBytes = Number(values["size-mb"]) * 1024 * 1024;
const runs = Number(values.runs);
const pythonVersion = execFileSync(
  python,
  ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
  {
    encoding: "utf8",
  },
).trim();

const { buildRuntimeBundle } = await import(new URL("../dist/index.js", import.meta.url).href);

/** A seeded generator, so that every run benchmarks the same archive. */
function generator(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

const words = [
  "self",
  "return",
  "value",
  "import",
  "def",
  "class",
  "data",
  "array",
  "index",
  "None",
];

/** Source-like text that compresses about as well as real Python files (3–5×). */
function pythonSource(next, size) {
  const lines = [];
  let length = 0;
  while (length < size) {
    const line = `    ${Array.from({ length: 6 }, () => words[next() % words.length]).join(" ")} = ${next() % 100000}\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join("");
}

/** Incompressible bytes, like the shared libraries of binary wheels. */
function binary(next, size) {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 4) {
    const value = next();
    bytes[offset] = value & 0xff;
    bytes[offset + 1] = (value >>> 8) & 0xff;
    bytes[offset + 2] = (value >>> 16) & 0xff;
    bytes[offset + 3] = (value >>> 24) & 0xff;
  }
  return bytes;
}

function wheel(name, files) {
  const distInfo = `${name}-1.0.dist-info`;
  const encoder = new TextEncoder();
  const entries = { ...files };
  entries[`${distInfo}/METADATA`] = encoder.encode(
    `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n\n`,
  );
  entries[`${distInfo}/WHEEL`] = encoder.encode(
    "Wheel-Version: 1.0\nGenerator: pylayer-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
  );
  const zippable = {};
  const record = [];
  for (const [path, data] of Object.entries(entries)) {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    zippable[path] = [bytes, { mtime: new Date(2020, 0, 1), level: 6 }];
    record.push(
      `${path},sha256=${createHash("sha256").update(bytes).digest("base64url")},${bytes.length}`,
    );
  }
  record.push(`${distInfo}/RECORD,,`);
  zippable[`${distInfo}/RECORD`] = [
    encoder.encode(`${record.join("\n")}\n`),
    { mtime: new Date(2020, 0, 1) },
  ];
  return zipSync(zippable);
}

const root = await mkdtemp(join(tmpdir(), "pylayer-bench-coldstart-"));
try {
  // Ten packages; per package 2/3 of the bytes are source files of 2–14 KB, 1/3 shared libraries.
  const packageCount = 10;
  const perPackage = targetBytes / packageCount;
  const wheelDir = join(root, "wheels");
  await mkdir(wheelDir, { recursive: true });
  const next = generator(20240601);
  const names = [];
  for (let index = 0; index < packageCount; index++) {
    const name = `benchpkg${index}`;
    names.push(name);
    const files = {};
    let sourceBytes = 0;
    let fileIndex = 0;
    while (sourceBytes < (perPackage * 2) / 3) {
      const size = 2048 + (next() % 12288);
      files[`${name}/sub${fileIndex % 20}/module${fileIndex}.py`] = pythonSource(next, size);
      sourceBytes += size;
      fileIndex++;
    }
    files[`${name}/__init__.py`] = "";
    for (let library = 0; library < 2; library++) {
      files[`${name}/_native${library}.so`] = binary(next, Math.floor(perPackage / 6));
    }
    await writeFile(join(wheelDir, `${name}-1.0-py3-none-any.whl`), wheel(name, files));
  }

  const task = join(root, "task");
  const bundle = await buildRuntimeBundle({
    requirements: names,
    runtimes: [`python${pythonVersion}`],
    index: { noIndex: true, findLinks: [wheelDir] },
    noCache: true,
    outputDir: task,
    cwd: root,
    env: { PIP_CONFIG_FILE: "/dev/null" },
  });
  const archive = bundle.archive;
  await writeFile(join(task, "handler.py"), "import pylayer_runtime\nimport benchpkg0\n");

  const loadTime = (tmp) => {
    const started = process.hrtime.bigint();
    const result = spawnSync(python, [join(task, "handler.py")], {
      cwd: task,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PYLAYER_TMP: tmp,
        LAMBDA_TASK_ROOT: task,
      },
      encoding: "utf8",
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) throw new Error(result.stderr);
    const match = / in ([\d.]+) (ms|s)/.exec(result.stderr);
    if (match === null) throw new Error(`no timing in ${result.stderr}`);
    const logged = Number(match[1]) * (match[2] === "s" ? 1000 : 1);
    return { logged, wall, line: result.stderr.trim() };
  };

  // For comparison: the standard library's extractall of the same archive (no hash check,
  // no modes, no atomic rename), timed inside Python.
  const extractAll = (tmp) => {
    const result = spawnSync(
      python,
      [
        "-c",
        "import sys, time, zipfile\nstarted = time.perf_counter()\nzipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])\nprint((time.perf_counter() - started) * 1000)",
        archive.path,
        join(tmp, "extractall"),
      ],
      { encoding: "utf8" },
    );
    if (result.status !== 0) throw new Error(result.stderr);
    return Number(result.stdout.trim());
  };

  const baseline = [];
  const reference = [];
  const cold = [];
  const warm = [];
  let sampleLine = "";
  for (let run = 0; run < runs; run++) {
    const tmp = await mkdtemp(join(root, "tmp-"));
    const started = process.hrtime.bigint();
    spawnSync(python, ["-c", "pass"]);
    baseline.push(Number(process.hrtime.bigint() - started) / 1e6);
    const first = loadTime(tmp);
    sampleLine = first.line;
    cold.push(first);
    warm.push(loadTime(tmp));
    reference.push(extractAll(tmp));
    await rm(tmp, { recursive: true, force: true });
  }
  const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];
  const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const ms = (value) =>
    value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;

  console.log(
    `Archive: ${archive.name}, ${mb(archive.size)} zipped, ${mb(archive.unzippedSize)} unzipped, ${archive.fileCount} files`,
  );
  console.log(
    `Interpreter: ${python} (${pythonVersion}); median of ${runs} runs; machine: ${process.platform} ${process.arch}`,
  );
  console.log(`Sample log line: ${sampleLine}`);
  console.log("");
  console.log("| load | time logged by the module | whole process (python start included) |");
  console.log("|---|---|---|");
  console.log(
    `| first (extract) | ${ms(median(cold.map((item) => item.logged)))} | ${ms(median(cold.map((item) => item.wall)))} |`,
  );
  console.log(
    `| later (reuse) | ${ms(median(warm.map((item) => item.logged)))} | ${ms(median(warm.map((item) => item.wall)))} |`,
  );
  console.log(`| \`python -c pass\` | – | ${ms(median(baseline))} |`);
  console.log(
    `| for comparison: \`zipfile.ZipFile(…).extractall()\` | ${ms(median(reference))} | – |`,
  );
} finally {
  if (values.keep) console.log(`kept ${root}`);
  else await rm(root, { recursive: true, force: true });
}
