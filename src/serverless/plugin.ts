/**
 * The Serverless Framework v3 plugin. Before the framework creates its deployment
 * artifacts, pylayer builds them:
 *
 * - function mode (default): each Python function's package, its dependencies at the zip
 *   root next to the files the framework's `package.patterns` choose (of the function's
 *   `module` folder, which becomes the zip root), set as the function's `package.artifact`
 *   so that the framework uses it as it is;
 * - layer mode (`custom.pylayer.layer`): one layer of the dependencies, registered as
 *   `layers.pythonRequirements` (logical id `PythonRequirementsLambdaLayer`, as
 *   serverless-python-requirements names it); the framework packages the functions' code.
 *
 * Targets come from each function's `runtime`/`architecture`, else the provider's; each
 * target is built separately. pylayer's zips are byte-identical for the same inputs, so
 * an unchanged dependency set gives the same artifact hashes, the same function version
 * ids and the same layer hash (the framework then reuses the layer it uploaded before).
 * The library is loaded in the hook, not when the framework loads the plugin.
 */
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { PylayerError } from "../errors.js";
import type { BuildOptions, BuildResult } from "../pipeline/types.js";
import {
  inputOptions,
  type PylayerServerlessOptions,
  pythonRequirementsWarning,
  readOptions,
} from "./config.js";
import {
  filesOfModule,
  LAYER_LOGICAL_ID,
  layerLogicalId,
  layerNameFor,
  type PackageGroup,
  packageGroups,
  providerTarget,
  pythonFunctions,
  type ServerlessService,
  type Target,
  targetId,
} from "./service.js";

/** What the framework hands a plugin (the parts used here). */
export interface Serverless {
  service: ServerlessService;
  serviceDir: string;
  classes: { Error: new (message: string, code?: string) => Error };
  pluginManager: { plugins: unknown[] };
  configSchemaHandler?: {
    defineCustomProperties(schema: object): void;
    defineFunctionProperties(provider: string, schema: object): void;
  };
  getProvider(name: string): { getStage(): string };
}

interface Logger {
  (message: string): void;
  info(message: string): void;
  warning(message: string): void;
  verbose(message: string): void;
  notice(message: string): void;
}

export interface PluginUtilities {
  log: Logger;
  progress: {
    create(options: { message: string }): { update(message: string): void; remove(): void };
  };
}

/** The framework's Package plugin: its file resolution honours `package.patterns`. */
interface PackagePlugin {
  resolveFilePathsAll(): Promise<string[]>;
  resolveFilePathsFunction(functionName: string): Promise<string[]>;
}

function isPackagePlugin(plugin: unknown): plugin is PackagePlugin {
  const candidate = plugin as Partial<PackagePlugin> | null;
  return (
    typeof candidate?.resolveFilePathsAll === "function" &&
    typeof candidate.resolveFilePathsFunction === "function"
  );
}

/** serverless-python-requirements' plugin, by its class name. */
function isPythonRequirementsPlugin(plugin: unknown): boolean {
  return (
    (plugin as { constructor?: { name?: string } } | null)?.constructor?.name ===
    "ServerlessPythonRequirements"
  );
}

type Library = typeof import("../index.js");

export class PylayerServerlessPlugin {
  readonly hooks: Record<string, () => Promise<void>>;

  constructor(
    private readonly serverless: Serverless,
    private readonly cliOptions: { package?: string; function?: string } = {},
    private readonly utilities?: PluginUtilities,
  ) {
    this.hooks = {
      "before:package:createDeploymentArtifacts": () => this.run(),
      // `serverless deploy function -f NAME` packages that one function this way.
      "before:package:function:package": () => this.run(this.cliOptions.function),
    };
    // The framework validates serverless.yml against a schema plugins extend: `module` as
    // serverless-python-requirements declares it, `custom.pylayer` checked by readOptions.
    // A collision (that plugin loaded too) leaves the other definition in place.
    const schema = serverless.configSchemaHandler;
    try {
      schema?.defineCustomProperties({ properties: { pylayer: { type: "object" } } });
    } catch {}
    try {
      schema?.defineFunctionProperties("aws", { properties: { module: { type: "string" } } });
    } catch {}
  }

  private get log(): Logger | undefined {
    return this.utilities?.log;
  }

  /** The framework's package folder: `--package`, `package.path`, or `.serverless`. */
  private packageFolder(): string {
    return resolve(
      this.serverless.serviceDir,
      this.cliOptions.package ?? this.serverless.service.package?.path ?? ".serverless",
    );
  }

  /** Builds what the service needs; with `only`, the package of that one function. */
  private async run(only?: string): Promise<void> {
    const service = this.serverless.service;
    // With serverless-python-requirements installed, its block is its own business.
    if (!this.serverless.pluginManager.plugins.some(isPythonRequirementsPlugin)) {
      const warning = pythonRequirementsWarning(service.custom?.pythonRequirements);
      if (warning !== undefined) this.log?.warning(warning);
    }
    let options: PylayerServerlessOptions;
    try {
      options = readOptions(service.custom?.pylayer);
    } catch (error) {
      throw this.frameworkError(error, "custom.pylayer");
    }
    const functions = pythonFunctions(service).filter(
      (item) => only === undefined || item.name === only,
    );
    // `deploy function` updates the code alone: a layer is deployed with the stack.
    if (only !== undefined && options.layer !== false) return;
    if (functions.length === 0 && options.layer === false) {
      this.log?.verbose("pylayer: no Python function to package");
      return;
    }
    const library = await import("../index.js");
    await mkdir(this.packageFolder(), { recursive: true });
    if (options.layer === false) {
      await this.packageFunctions(library, options, only);
    } else {
      await this.packageLayer(library, options);
    }
  }

  private async packageFunctions(
    library: Library,
    options: PylayerServerlessOptions,
    only: string | undefined,
  ): Promise<void> {
    const service = this.serverless.service;
    const packager = this.serverless.pluginManager.plugins.find(isPackagePlugin);
    if (packager === undefined) {
      throw new this.serverless.classes.Error(
        "pylayer: the framework's Package plugin was not found (is this Serverless Framework v3?)",
        "serverless-unsupported-framework",
      );
    }
    const groups = packageGroups(service, pythonFunctions(service)).filter(
      (group) => only === undefined || group.functions.some((item) => item.name === only),
    );
    let serviceFiles: string[] | undefined;
    for (const group of groups) {
      if (!group.individually && serviceFiles === undefined) {
        serviceFiles = await packager.resolveFilePathsAll();
      }
      const files = group.individually
        ? await packager.resolveFilePathsFunction(group.functions[0]!.name)
        : serviceFiles!;
      const artifact = join(this.packageFolder(), group.artifact);
      const handler = group.functions[0]!.handler;
      const source = join(this.serverless.serviceDir, group.module);
      const input = inputOptions(source, options.fileName);
      const what = `${describeGroup(group)} (${targetId(group.target)})`;
      const result = await this.build(library, what, {
        ...this.commonOptions(options),
        ...input,
        cwd: source,
        runtimes: [group.target.runtime],
        architectures: [group.target.architecture],
        output: artifact,
        function: {
          source,
          files: filesOfModule(files, group.module),
          exclude: options.sourceExclude,
          ...(handler === undefined ? {} : { handler }),
        },
      });
      const zip = result.zips[0]!;
      // The build's check verified the first function's handler; the others share the zip.
      if (options.check) await this.checkHandlers(library, zip.path, group, what);
      for (const item of group.functions) {
        item.definition.package = { ...item.definition.package, artifact: zip.path };
      }
      this.log?.verbose(
        `pylayer: ${basename(zip.path)} for ${what}: ${zip.packages.length} packages, ${zip.size} bytes, sha256 ${zip.sha256}`,
      );
    }
  }

  /**
   * Checks the handler of every function of a shared package but the first (which the
   * build checked): a module that is not in the zip fails the packaging, naming each
   * function whose handler cannot load.
   */
  private async checkHandlers(
    library: Library,
    zip: string,
    group: PackageGroup,
    what: string,
  ): Promise<void> {
    const first = group.functions[0]?.handler;
    const missing: string[] = [];
    for (const item of group.functions.slice(1)) {
      if (item.handler === undefined || item.handler === first) continue;
      const result = await library.checkLayer(zip, {
        kind: "function",
        handler: item.handler,
        runtimes: [group.target.runtime],
        architectures: [group.target.architecture],
        importTest: false,
        env: process.env,
      });
      for (const finding of result.findings) {
        if (finding.code === "handler-not-found" && finding.severity === "error") {
          missing.push(`  function ${item.name}: [${finding.code}] ${finding.message}`);
        }
      }
    }
    if (missing.length === 0) return;
    throw new this.serverless.classes.Error(
      [
        `pylayer: the package built for ${what} cannot load every handler:`,
        ...missing,
        "Hint: fix the function's handler setting (MODULE.FUNCTION relative to its module folder), or add the module to the package (package.patterns).",
      ].join("\n"),
      "handler-not-found",
    );
  }

  private async packageLayer(library: Library, options: PylayerServerlessOptions): Promise<void> {
    const service = this.serverless.service;
    const settings = options.layer === false ? {} : options.layer;
    const functions = pythonFunctions(service);
    const fallback = providerTarget(service);
    // Only targets a function runs on are built (the provider's alone when the service has
    // no Python function, so that a layer-only service still gets its layer). The plain
    // name goes to the provider's target when built, else to the first function's.
    const targets = uniqueTargets(
      functions.length > 0 ? functions.map((item) => item.target) : [fallback],
    ).filter((target) => target.runtime.startsWith("python"));
    const defaultTarget =
      targets.find((target) => targetId(target) === targetId(fallback)) ?? targets[0];
    if (defaultTarget === undefined) {
      throw new this.serverless.classes.Error(
        `pylayer: custom.pylayer.layer is set, but neither provider.runtime (${fallback.runtime}) nor any function is Python\nHint: Set provider.runtime to a Python runtime such as python3.12.`,
        "serverless-no-python",
      );
    }
    const runtimes = [...new Set(targets.map((target) => target.runtime))];
    const architectures = [...new Set(targets.map((target) => target.architecture))];
    const folder = join(this.packageFolder(), ".pylayer-layers");
    const result = await this.build(library, `the ${LAYER_LOGICAL_ID} layer`, {
      ...this.commonOptions(options),
      ...inputOptions(this.serverless.serviceDir, options.fileName),
      cwd: this.serverless.serviceDir,
      runtimes,
      architectures,
      output: folder,
    });
    const stage = this.serverless.getProvider("aws").getStage();
    if (service.layers === undefined) service.layers = {};
    const layers = service.layers;
    /** Target id → the layer name serving it. */
    const served = new Map<string, string>();
    const wanted = new Set(targets.map(targetId));
    for (const zip of result.zips) {
      const zipTargets = zip.targets.filter((id) => wanted.has(id));
      if (zipTargets.length === 0) continue;
      const isDefault = zip.targets.includes(targetId(defaultTarget));
      const first = targets.find((target) => targetId(target) === zipTargets[0])!;
      const name = layerNameFor(first, isDefault);
      const artifact = join(this.packageFolder(), `${name}.zip`);
      await rename(zip.path, artifact);
      for (const id of zipTargets) served.set(id, name);
      layers[name] = {
        name: `${service.service}-${stage}-${isDefault ? "python-requirements" : `python-requirements-${targetId(first).replaceAll(".", "")}`}`,
        description: `Python requirements built by pylayer for ${zip.runtimes.join(", ")} (${zip.architectures.join(", ")})`,
        ...settings,
        compatibleRuntimes: zip.runtimes,
        compatibleArchitectures: zip.architectures,
        package: { artifact },
      };
      this.log?.verbose(
        `pylayer: layer ${name} (${layerLogicalId(name)}): ${zip.packages.length} packages, ${zip.size} bytes, sha256 ${zip.sha256}`,
      );
    }
    await rm(folder, { recursive: true, force: true });
    // `Ref: PythonRequirementsLambdaLayer` in a function of another target means that
    // target's layer: the reference is pointed at it.
    for (const item of functions) {
      const name = served.get(targetId(item.target));
      const layerList = item.definition.layers ?? [];
      const index = layerList.findIndex(
        (entry) => (entry as { Ref?: unknown } | null)?.Ref === LAYER_LOGICAL_ID,
      );
      if (index === -1) {
        this.log?.warning(
          `pylayer: function ${item.name} does not list { Ref: ${LAYER_LOGICAL_ID} } in its layers, so it runs without its dependencies`,
        );
        continue;
      }
      if (name !== undefined) layerList[index] = { Ref: layerLogicalId(name) };
    }
  }

  private commonOptions(options: PylayerServerlessOptions): BuildOptions {
    return {
      exclude: options.exclude,
      excludeRuntimeProvided: options.excludeRuntimeProvided,
      slim: options.slim,
      slimPatterns: options.slimPatterns,
      compile: options.compile,
      check: options.check,
      checkImports: options.checkImports,
      index: {
        ...(options.indexUrl === undefined ? {} : { indexUrl: options.indexUrl }),
        extraIndexUrls: options.extraIndexUrls,
        findLinks: options.findLinks,
        noIndex: options.noIndex,
      },
      pre: options.pre,
      ...(options.cacheDir === undefined
        ? {}
        : { cacheDir: resolve(this.serverless.serviceDir, options.cacheDir) }),
      noCache: options.noCache,
      env: process.env,
    };
  }

  /** Runs one build with progress; a failure or a failed check becomes a framework error. */
  private async build(library: Library, what: string, options: BuildOptions): Promise<BuildResult> {
    const progress = this.utilities?.progress.create({ message: `pylayer: building ${what}` });
    let result: BuildResult;
    try {
      result = await library.buildLayer({
        ...options,
        onEvent: (event) => {
          if (event.type === "phase") progress?.update(`pylayer: ${what}: ${event.message}`);
          else if (event.type === "warning") this.log?.warning(`pylayer: ${event.message}`);
          else if (event.type === "info") this.log?.verbose(`pylayer: ${event.message}`);
        },
      });
    } catch (error) {
      throw this.frameworkError(error, what);
    } finally {
      progress?.remove();
    }
    for (const warning of result.warnings) this.log?.warning(`pylayer: ${warning}`);
    const failed = result.checks?.find((check) => !check.ok);
    if (failed !== undefined) {
      const errors = failed.findings
        .filter((finding) => finding.severity === "error")
        .map(
          (finding) =>
            `  [${finding.code}] ${finding.message}${finding.hint === undefined ? "" : ` (${finding.hint})`}`,
        );
      throw new this.serverless.classes.Error(
        [
          `pylayer: the check found errors in ${failed.path}, built for ${what}:`,
          ...errors,
          "Hint: fix them, or set custom.pylayer.check: false to deploy anyway.",
        ].join("\n"),
        "check-failed",
      );
    }
    return result;
  }

  /** A framework error carrying pylayer's code, message and hint. */
  private frameworkError(error: unknown, what: string): Error {
    if (!(error instanceof PylayerError)) return error as Error;
    const message = [
      `pylayer could not build ${what} [${error.code}]: ${error.message}`,
      ...(error.hint === undefined ? [] : [`Hint: ${error.hint}`]),
    ].join("\n");
    return new this.serverless.classes.Error(message, error.code);
  }
}

function describeGroup(group: PackageGroup): string {
  const names = group.functions.map((item) => item.name).join(", ");
  return `${group.functions.length === 1 ? "function" : "functions"} ${names}`;
}

function uniqueTargets(targets: readonly Target[]): Target[] {
  const seen = new Map<string, Target>();
  for (const target of targets) if (!seen.has(targetId(target))) seen.set(targetId(target), target);
  return [...seen.values()];
}
