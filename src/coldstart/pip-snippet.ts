/**
 * The hardened form of the "pip install at cold start" snippet, for people who keep pip
 * in the loop: every wheel pinned to the resolved version and its sha256, no resolution
 * and no source builds at cold start (`--no-deps`, `--only-binary=:all:`), the target's
 * platform tags spelled out (pip's `manylinux2014` alias alone misses `manylinux_2_28`
 * wheels, see NOTES §1), a target folder named after the pins and reused on warm starts,
 * published by rename so a failed install is never reused, and pip's stderr in the error.
 */
import { createHash } from "node:crypto";
import { PylayerError } from "../errors.js";
import { planBuild } from "../pipeline/plan.js";
import type { BuildOptions } from "../pipeline/types.js";
import type { Target } from "../runtime/index.js";
import { platformTags } from "../tags/index.js";
import { runtimeModeTarget } from "./bundle.js";

export interface PinnedWheel {
  name: string;
  version: string;
  sha256: string;
}

export interface PipSnippetConfig {
  /** `python3.12-x86_64`. */
  targetId: string;
  /** `3.12`. */
  pythonVersion: string;
  /** `--platform` values, best first. */
  platforms: string[];
  pins: PinnedWheel[];
  /** Written as `--index-url`; else pip's own settings (PIP_INDEX_URL) apply at cold start. */
  indexUrl?: string;
  extraIndexUrls?: string[];
}

export interface PipSnippetOptions extends Omit<BuildOptions, "output" | "layout" | "dryRun"> {}

export interface PipSnippetResult {
  snippet: string;
  target: string;
  pins: PinnedWheel[];
  /** Packages resolved but left out of the snippet, with the reason. */
  excluded: { name: string; version: string; reason: string }[];
  warnings: string[];
}

/** Python source: a function that installs the pins into `<PYLAYER_TMP or /tmp>/pylayer-pip/<key>`. */
export function renderPipSnippet(config: PipSnippetConfig): string {
  const pins = [...config.pins].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const requirements = pins.map(
    (pin) => `${pin.name}==${pin.version} --hash=sha256:${pin.sha256}\n`,
  );
  const indexArguments: string[] = [];
  if (config.indexUrl !== undefined) indexArguments.push("--index-url", config.indexUrl);
  for (const url of config.extraIndexUrls ?? []) indexArguments.push("--extra-index-url", url);
  const key = createHash("sha256")
    .update(JSON.stringify([config.targetId, config.platforms, requirements, indexArguments]))
    .digest("hex")
    .slice(0, 16);
  const literal = (value: string) => JSON.stringify(value);
  const list = (values: string[], indent: string) =>
    values.map((value) => `${indent}${literal(value)},`).join("\n");
  const platformArguments = config.platforms.flatMap((platform) => ["--platform", platform]);
  return [
    `# Installs ${pins.length} pinned wheels for ${config.targetId} into /tmp at cold start and`,
    "# reuses them on warm starts. Written by pylayer (runtime --pip-snippet); regenerate it",
    "# when the requirements change. Put it at the top of the handler module.",
    "def _pylayer_pip_install():",
    "    import os",
    "    import shutil",
    "    import subprocess",
    "    import sys",
    "    import tempfile",
    "",
    "    requirements = (",
    ...requirements.map((line) => `        ${literal(line)}`),
    "    )",
    '    base = os.path.join(os.environ.get("PYLAYER_TMP") or "/tmp", "pylayer-pip")',
    `    target = os.path.join(base, ${literal(key)})`,
    '    marker = ".pylayer-complete"',
    "    if not os.path.exists(os.path.join(target, marker)):",
    "        os.makedirs(base, exist_ok=True)",
    '        work = tempfile.mkdtemp(prefix=".tmp-", dir=base)',
    '        requirements_path = work + ".txt"',
    "        try:",
    '            with open(requirements_path, "w") as stream:',
    "                stream.write(requirements)",
    "            command = [",
    "                sys.executable,",
    '                "-m",',
    '                "pip",',
    '                "install",',
    '                "--target",',
    "                work,",
    '                "--requirement",',
    "                requirements_path,",
    '                "--require-hashes",',
    '                "--no-deps",',
    '                "--only-binary=:all:",',
    '                "--implementation",',
    '                "cp",',
    '                "--python-version",',
    `                ${literal(config.pythonVersion)},`,
    list(platformArguments, "                "),
    ...(indexArguments.length > 0 ? [list(indexArguments, "                ")] : []),
    '                "--no-cache-dir",',
    '                "--no-compile",',
    '                "--no-input",',
    '                "--disable-pip-version-check",',
    '                "--quiet",',
    "            ]",
    "            result = subprocess.run(",
    "                command,",
    "                stdout=subprocess.PIPE,",
    "                stderr=subprocess.PIPE,",
    "                universal_newlines=True,",
    "            )",
    "            if result.returncode != 0:",
    "                raise RuntimeError(",
    '                    "pip install of the pinned wheels failed (exit code %d):\\n%s"',
    "                    % (result.returncode, (result.stderr or result.stdout).strip())",
    "                )",
    '            open(os.path.join(work, marker), "w").close()',
    "            try:",
    "                os.rename(work, target)",
    "            except OSError:",
    "                # Another process published the same folder first; keep it.",
    "                if not os.path.exists(os.path.join(target, marker)):",
    "                    raise",
    "                shutil.rmtree(work, ignore_errors=True)",
    "        except BaseException:",
    "            shutil.rmtree(work, ignore_errors=True)",
    "            raise",
    "        finally:",
    "            if os.path.exists(requirements_path):",
    "                os.unlink(requirements_path)",
    "    if target not in sys.path:",
    "        # After the function's own code, like a layer.",
    '        task_root = os.environ.get("LAMBDA_TASK_ROOT")',
    "        index = sys.path.index(task_root) + 1 if task_root in sys.path else min(1, len(sys.path))",
    "        sys.path.insert(index, target)",
    "",
    "",
    "_pylayer_pip_install()",
    "del _pylayer_pip_install",
    "",
  ].join("\n");
}

/** Resolves the requirements for one target and renders the snippet for the result. */
export async function pipSnippet(options: PipSnippetOptions): Promise<PipSnippetResult> {
  const target = runtimeModeTarget(options);
  const { plan, context } = await planBuild({
    ...options,
    runtimes: [target.runtime.name],
    architectures: [target.architecture],
  });
  try {
    const targetPlan = plan.targets[0]!;
    const pins: PinnedWheel[] = [];
    for (const item of targetPlan.packages) {
      if (item.excluded !== undefined) continue;
      let sha256 = item.sha256;
      if (sha256 === undefined) {
        // The index did not announce a hash: download the wheel (cached) and hash it.
        const file = context.files.get(item.filename);
        if (file === undefined) {
          throw new PylayerError("internal", `no index file recorded for ${item.filename}`, {
            exitCode: 2,
          });
        }
        sha256 = (await context.client.download(file)).sha256;
      }
      pins.push({ name: item.name, version: item.version, sha256 });
    }
    const warnings = [...plan.warnings];
    const indexUrls = snippetIndexUrls(options, warnings);
    return {
      snippet: renderPipSnippet({
        targetId: target.id,
        pythonVersion: pythonVersion(target),
        platforms: platformTags(target),
        pins,
        ...indexUrls,
      }),
      target: target.id,
      pins,
      excluded: targetPlan.packages
        .filter((item) => item.excluded !== undefined)
        .map((item) => ({ name: item.name, version: item.version, reason: item.excluded! })),
      warnings,
    };
  } finally {
    await context.client.dispose();
  }
}

function pythonVersion(target: Target): string {
  const [major, minor] = target.runtime.python;
  return `${major}.${minor}`;
}

/**
 * Index URLs given as options go into the snippet when Lambda could reach them: http(s)
 * and without credentials (a credential would end up in the function's code).
 */
function snippetIndexUrls(
  options: PipSnippetOptions,
  warnings: string[],
): Pick<PipSnippetConfig, "indexUrl" | "extraIndexUrls"> {
  const usable = (url: string) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      warnings.push(`the snippet leaves out ${url}: pip on Lambda cannot read it`);
      return false;
    }
    if (parsed.username !== "" || parsed.password !== "") {
      warnings.push(
        `the snippet leaves out ${parsed.protocol}//${parsed.host}${parsed.pathname}: it carries credentials; set PIP_INDEX_URL in the function's environment instead`,
      );
      return false;
    }
    return true;
  };
  const result: Pick<PipSnippetConfig, "indexUrl" | "extraIndexUrls"> = {};
  const indexUrl = options.index?.indexUrl;
  if (indexUrl !== undefined && usable(indexUrl)) result.indexUrl = indexUrl;
  const extras = (options.index?.extraIndexUrls ?? []).filter(usable);
  if (extras.length > 0) result.extraIndexUrls = extras;
  return result;
}
