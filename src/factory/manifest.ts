/**
 * The factory manifest: a compact TOML or JSON description of a catalogue (layers ×
 * runtimes × architectures × regions), expanded into work items, one per layer and
 * target, each published to all of its regions.
 *
 * ```toml
 * prefix = "acme-"
 * runtimes = ["python3.12", "python3.13"]
 * architectures = ["x86_64", "arm64"]
 * regions = ["us-east-1", "eu-west-1"]
 * [options]                      # defaults of every layer
 * slim = true
 * [layers.requests]
 * requirements = ["requests==2.32.3"]
 * [layers.api]
 * lock = "api/pylock.toml"       # relative to the manifest
 * runtimes = ["python3.12"]      # a layer may narrow the lists
 * ```
 *
 * Files named by the manifest are read here, so work items carry their input text and
 * need no file system of the caller's.
 */
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { validateRegion } from "../aws/validate.js";
import { PylayerError } from "../errors.js";
import { parseJsonText, parseTomlText, readTextFile, validate } from "../pyproject/toml.js";
import { makeTarget } from "../runtime/index.js";
import type { WorkItem, WorkOptions } from "./types.js";

const LIST = z.array(z.string().min(1));

const OPTIONS_SHAPE = {
  slim: z.boolean().optional(),
  "exclude-runtime-provided": z.boolean().optional(),
  exclude: LIST.optional(),
  pre: z.boolean().optional(),
  "index-url": z.string().min(1).optional(),
  "extra-index-url": LIST.optional(),
  "find-links": LIST.optional(),
  description: z.string().optional(),
  license: z.string().optional(),
  public: z.boolean().optional(),
  accounts: LIST.optional(),
  "organization-id": z.string().optional(),
  check: z.boolean().optional(),
  keep: z.number().int().min(1).optional(),
};

const OPTIONS = z.strictObject(OPTIONS_SHAPE);

const LAYER = z.strictObject({
  requirements: LIST.optional(),
  "requirements-file": z.string().min(1).optional(),
  lock: z.string().min(1).optional(),
  runtimes: LIST.optional(),
  architectures: LIST.optional(),
  regions: LIST.optional(),
  ...OPTIONS_SHAPE,
});

const MANIFEST = z.strictObject({
  prefix: z.string().regex(/^[A-Za-z0-9_-]*$/, "letters, digits, - and _ only"),
  /** Layer name template: {prefix}, {layer}, {python} (py312), {runtime} (python3_12), {arch}. */
  name: z.string().min(1).optional(),
  runtimes: LIST.min(1),
  architectures: LIST.min(1),
  regions: LIST.min(1),
  options: OPTIONS.optional(),
  layers: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - and _ only"), LAYER),
});

export type FactoryManifest = z.infer<typeof MANIFEST>;

export const DEFAULT_NAME_TEMPLATE = "{prefix}{layer}-{python}-{arch}";

const MANIFEST_HINT =
  "See the README's Layer factory section for the manifest's keys (prefix, runtimes, architectures, regions, [options], [layers.NAME]).";

/** Reads and validates a manifest (`.json` is JSON, anything else TOML). */
export async function readManifest(
  path: string,
): Promise<{ manifest: FactoryManifest; folder: string }> {
  const text = await readTextFile(path, "factory manifest");
  const data = path.endsWith(".json") ? parseJsonText(text, path) : parseTomlText(text, path);
  const manifest = validate(MANIFEST, data, path, "factory-manifest-invalid", MANIFEST_HINT);
  return { manifest, folder: dirname(resolve(path)) };
}

function workOptions(values: z.infer<typeof OPTIONS>): WorkOptions {
  const options: WorkOptions = {};
  const set = <K extends keyof WorkOptions>(key: K, value: WorkOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set("slim", values.slim);
  set("excludeRuntimeProvided", values["exclude-runtime-provided"]);
  set("exclude", values.exclude);
  set("pre", values.pre);
  set("indexUrl", values["index-url"]);
  set("extraIndexUrls", values["extra-index-url"]);
  set("findLinks", values["find-links"]);
  set("description", values.description);
  set("license", values.license);
  set("public", values.public);
  set("accounts", values.accounts);
  set("organizationId", values["organization-id"]);
  set("check", values.check);
  set("keep", values.keep);
  return options;
}

export function layerNameFor(
  template: string,
  prefix: string,
  layer: string,
  runtime: string,
  architecture: string,
): string {
  const python = `py${runtime.replace(/^python/, "").replace(".", "")}`;
  return template
    .replaceAll("{prefix}", prefix)
    .replaceAll("{layer}", layer)
    .replaceAll("{python}", python)
    .replaceAll("{runtime}", runtime.replace(".", "_"))
    .replaceAll("{arch}", architecture);
}

function manifestError(message: string, hint: string): PylayerError {
  return new PylayerError("factory-manifest-invalid", message, { hint });
}

/** The work items of a manifest: one per layer × runtime × architecture, in manifest order. */
export async function expandManifest(
  manifest: FactoryManifest,
  folder: string,
  source = "the manifest",
): Promise<WorkItem[]> {
  const template = manifest.name ?? DEFAULT_NAME_TEMPLATE;
  if (!template.includes("{layer}") || !template.startsWith("{prefix}")) {
    throw manifestError(
      `${source}: the name template ${template} must start with {prefix} and contain {layer}`,
      `Use the default ${DEFAULT_NAME_TEMPLATE}, or another order of the same placeholders.`,
    );
  }
  const items: WorkItem[] = [];
  for (const [layer, entry] of Object.entries(manifest.layers)) {
    const inputs = [entry.requirements, entry["requirements-file"], entry.lock].filter(
      (value) => value !== undefined,
    );
    if (inputs.length !== 1) {
      throw manifestError(
        `${source}: layer ${layer} needs exactly one of requirements, requirements-file and lock (it has ${inputs.length})`,
        `Give e.g. requirements = ["requests==2.32.3"] under [layers.${layer}].`,
      );
    }
    const input: WorkItem["input"] =
      entry.lock !== undefined
        ? {
            kind: "lock",
            filename: entry.lock,
            text: await readTextFile(resolve(folder, entry.lock), `lock file of layer ${layer}`),
          }
        : {
            kind: "requirements",
            text:
              entry.requirements !== undefined
                ? `${entry.requirements.join("\n")}\n`
                : await readTextFile(
                    resolve(folder, entry["requirements-file"]!),
                    `requirements file of layer ${layer}`,
                  ),
          };
    const {
      requirements: _r,
      "requirements-file": _f,
      lock: _l,
      runtimes,
      architectures,
      regions,
      ...own
    } = entry;
    const options = workOptions({ ...manifest.options, ...own });
    const layerRegions = [...new Set(regions ?? manifest.regions)].map(validateRegion);
    for (const runtime of runtimes ?? manifest.runtimes) {
      for (const architectureName of architectures ?? manifest.architectures) {
        const target = makeTarget(runtime, architectureName);
        const layerName = layerNameFor(
          template,
          manifest.prefix,
          layer,
          target.runtime.name,
          target.architecture,
        );
        if (!/^[A-Za-z0-9_-]{1,140}$/.test(layerName)) {
          throw manifestError(
            `${source}: layer name ${layerName} (layer ${layer}, ${target.id}) is not a valid Lambda layer name`,
            "Layer names are 1–140 letters, digits, - and _.",
          );
        }
        items.push({
          id: `${layer}/${target.runtime.name}/${target.architecture}`,
          layer,
          layerName,
          runtime: target.runtime.name,
          architecture: target.architecture,
          regions: layerRegions,
          input,
          options,
        });
      }
    }
  }
  return items;
}
