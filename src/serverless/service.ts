/**
 * The parts of a Serverless Framework v3 service the plugin reads and writes (the framework
 * ships no types), and what to build for it, as data: which Python functions there are,
 * the target of each (`runtime` and `architecture` of the function, else of the provider),
 * and how function packages are grouped (one per function with `individually`, else one
 * per module folder and target).
 */

export interface ServerlessFunction {
  handler?: string;
  runtime?: string;
  architecture?: string;
  image?: unknown;
  /** serverless-python-requirements' per-function folder: its requirements, its zip root. */
  module?: string;
  package?: {
    artifact?: string;
    individually?: boolean;
    disable?: boolean;
    patterns?: string[];
  };
  layers?: unknown[];
}

export interface ServerlessLayer {
  name?: string;
  description?: string;
  compatibleRuntimes?: string[];
  compatibleArchitectures?: string[];
  package?: { artifact?: string };
  [key: string]: unknown;
}

export interface ServerlessService {
  service: string;
  custom?: Record<string, unknown>;
  provider: { name?: string; runtime?: string; architecture?: string; stage?: string };
  package?: { individually?: boolean; path?: string; artifact?: string };
  layers?: Record<string, ServerlessLayer>;
  getAllFunctions(): string[];
  getFunction(name: string): ServerlessFunction;
}

/** Where the serverless-python-requirements layer is registered: `layers.pythonRequirements`. */
export const LAYER_NAME = "pythonRequirements";
/** Its CloudFormation logical id, as the framework names it (`Ref: PythonRequirementsLambdaLayer`). */
export const LAYER_LOGICAL_ID = "PythonRequirementsLambdaLayer";

export interface Target {
  runtime: string;
  architecture: string;
}

export interface PythonFunction {
  name: string;
  handler: string | undefined;
  target: Target;
  /** The module folder relative to the service, `/`-separated, `.` for the service itself. */
  module: string;
  individually: boolean;
  definition: ServerlessFunction;
}

/** A function package to build: its functions share the source folder, files and target. */
export interface PackageGroup {
  /** The zip's file name in the framework's package folder. */
  artifact: string;
  module: string;
  target: Target;
  functions: PythonFunction[];
  /** Package the function alone: its own `package.patterns` choose the files. */
  individually: boolean;
}

export function targetId(target: Target): string {
  return `${target.runtime}-${target.architecture}`;
}

/** The provider's target: what a function without its own runtime or architecture gets. */
export function providerTarget(service: ServerlessService): Target {
  return {
    runtime: service.provider.runtime ?? "nodejs16.x",
    architecture: service.provider.architecture ?? "x86_64",
  };
}

function normalizeModule(module: string | undefined): string {
  const parts = (module ?? ".").split(/[\\/]+/).filter((part) => part !== "" && part !== ".");
  return parts.length === 0 ? "." : parts.join("/");
}

/** The functions pylayer builds: Python runtime, not a container image, packaging not disabled. */
export function pythonFunctions(service: ServerlessService): PythonFunction[] {
  const fallback = providerTarget(service);
  const found: PythonFunction[] = [];
  for (const name of service.getAllFunctions()) {
    const definition = service.getFunction(name);
    if (definition.image !== undefined || definition.package?.disable === true) continue;
    const runtime = definition.runtime ?? fallback.runtime;
    if (!runtime.startsWith("python")) continue;
    found.push({
      name,
      handler: definition.handler,
      target: { runtime, architecture: definition.architecture ?? fallback.architecture },
      module: normalizeModule(definition.module),
      individually:
        definition.package?.individually === true || service.package?.individually === true,
      definition,
    });
  }
  return found;
}

/**
 * Groups the functions into packages. Packaged individually, a function gets
 * `FUNCTION.zip` (the framework's own name for it). Otherwise functions with the same
 * module folder and target share one zip: `SERVICE.zip` for the service folder at the
 * provider's target, else a name with the module and the target added.
 */
export function packageGroups(
  service: ServerlessService,
  functions: readonly PythonFunction[],
): PackageGroup[] {
  const fallback = targetId(providerTarget(service));
  const groups = new Map<string, PackageGroup>();
  for (const item of functions) {
    if (item.individually) {
      groups.set(`function:${item.name}`, {
        artifact: `${item.name}.zip`,
        module: item.module,
        target: item.target,
        functions: [item],
        individually: true,
      });
      continue;
    }
    const key = `${item.module}\0${targetId(item.target)}`;
    const group = groups.get(key);
    if (group !== undefined) {
      group.functions.push(item);
      continue;
    }
    const suffix = [
      ...(item.module === "." ? [] : [item.module.replaceAll("/", "-")]),
      ...(targetId(item.target) === fallback ? [] : [targetId(item.target)]),
    ];
    groups.set(key, {
      artifact: `${[service.service, ...suffix].join("-")}.zip`,
      module: item.module,
      target: item.target,
      functions: [item],
      individually: false,
    });
  }
  return [...groups.values()];
}

/**
 * The framework's file list (paths relative to the service) restricted to a module folder
 * and made relative to it: the zip root is the module folder, as with
 * serverless-python-requirements.
 */
export function filesOfModule(files: readonly string[], module: string): string[] {
  const normalized = files.map((file) => file.split("\\").join("/"));
  if (module === ".") return normalized;
  const prefix = `${module}/`;
  return normalized
    .filter((file) => file.startsWith(prefix))
    .map((file) => file.slice(prefix.length));
}

/** The layer's name in `layers:` for a zip serving `target` (the provider's target gets the plain name). */
export function layerNameFor(target: Target, isDefault: boolean): string {
  if (isDefault) return LAYER_NAME;
  const words = targetId(target)
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== "")
    .map((word) => word[0]!.toUpperCase() + word.slice(1));
  return `${LAYER_NAME}${words.join("")}`;
}

/** The logical id the framework gives a layer named `name` (its naming.getLambdaLayerLogicalId). */
export function layerLogicalId(name: string): string {
  const normalized = name[0]!.toUpperCase() + name.slice(1);
  return `${normalized.replaceAll("-", "Dash").replaceAll("_", "Underscore")}LambdaLayer`;
}
