/**
 * Everything that is not a wheel from an index: source distributions from the index
 * (used where no compatible wheel exists, or as `--no-binary` asks), local project
 * folders (`-e ./libs/common`, `name @ file:./path`), direct URLs of wheels and sdists
 * (`#sha256=` checked) and git repositories. Each becomes one wheel (downloaded, or built
 * by `src/pep517`) whose fitness for each target is decided here: pure wheels fit every
 * target; a wheel with compiled code built on this machine fits only when the user opted
 * in and the machine matches the target.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PylayerError, redactUrl } from "../errors.js";
import type { DistributionFile, IndexClient } from "../index/index.js";
import { Version } from "../pep440/index.js";
import { normalizeName } from "../pep508/index.js";
import {
  type BuiltWheel,
  type ConfigSettings,
  type MetadataOrigin,
  readArchive,
  type SourceBuilder,
  sdistPkgInfo,
  settingsKey,
  staticMetadata,
} from "../pep517/index.js";
import type { Target } from "../runtime/index.js";
import { isWheelFilename, parseWheelFilename, TagSelector, tagToString } from "../tags/index.js";
import { checkoutGit, isVcsUrl, parseVcsUrl, pinnedVcsUrl } from "../vcs/index.js";
import { type CoreMetadata, parseCoreMetadata, readWheelMetadata } from "../wheel/index.js";
import { ZipReader } from "../zip/index.js";
import type { PackageSource } from "./types.js";

/** `--no-binary`, `--only-binary`, `--allow-native-sdist`: normalized names or `:all:`. */
export interface SourcePolicy {
  noBinary: readonly string[];
  onlyBinary: readonly string[];
  allowNative: readonly string[];
}

const matches = (list: readonly string[], name: string) =>
  list.includes(":all:") || list.includes(name);

/** A wheel to install, wherever it came from. */
export interface WheelArtifact {
  path: string;
  filename: string;
  sha256: string;
  tags: string[];
  pure: boolean;
  /** Set when built here from source. */
  built?: BuiltWheel;
}

/** A direct reference made ready: its wheel, metadata and provenance. */
export interface DirectArtifact {
  name: string;
  version: Version;
  metadata: CoreMetadata;
  wheel: WheelArtifact;
  source: PackageSource;
}

export class SourceBuilds {
  readonly policy: SourcePolicy;
  private readonly client: IndexClient;
  private readonly builder: SourceBuilder;
  private readonly env: NodeJS.ProcessEnv;
  private readonly emit: (message: string) => void;
  private readonly metadataByFile = new Map<string, Promise<CoreMetadata>>();
  private readonly directs = new Map<string, Promise<DirectArtifact>>();
  private readonly metadataOrigins = new Map<string, "static" | MetadataOrigin>();
  private readonly configSettings = new Map<string, ConfigSettings>();
  /** The URL behind each shown (redacted) source URL, for lock files and exports. */
  private readonly recordedUrls = new Map<string, string>();
  private scratch: Promise<string> | undefined;
  /** True once anything was built or read from outside the indexes (plans are then not cached). */
  used = false;

  constructor(options: {
    client: IndexClient;
    builder: SourceBuilder;
    policy: SourcePolicy;
    env: NodeJS.ProcessEnv;
    emit: (message: string) => void;
  }) {
    this.client = options.client;
    this.builder = options.builder;
    this.policy = options.policy;
    this.env = options.env;
    this.emit = options.emit;
  }

  /**
   * A source URL to show (credentials redacted, for the plan, messages and `--json`);
   * the URL itself is kept for `lockUrl`.
   */
  shownUrl(url: string): string {
    const shown = redactUrl(url);
    this.recordedUrls.set(shown, url);
    return shown;
  }

  /**
   * The URL a lock file or export records for a shown source URL: as the user wrote it,
   * less the user-info part (netrc, keyring or the index settings supply it when the lock
   * is installed, as for index wheels). A query string is part of the file's address (a
   * pre-signed URL does not work without it), so it is kept as written.
   */
  lockUrl(shown: string): string {
    const url = this.recordedUrls.get(shown) ?? shown;
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]+@/i, "$1");
  }

  wheelsAllowed(name: string): boolean {
    return !matches(this.policy.noBinary, name);
  }

  sdistsAllowed(name: string): boolean {
    return !matches(this.policy.onlyBinary, name) || matches(this.policy.noBinary, name);
  }

  /**
   * The metadata of an sdist from the index: its PKG-INFO when static (PEP 643), else
   * what the backend's `prepare_metadata_for_build_wheel` writes (or, without that hook,
   * the METADATA of the wheel built from it). How it was read is kept for the output.
   */
  sdistMetadata(file: DistributionFile, name: string): Promise<CoreMetadata> {
    const key = file.hashes.sha256 ?? file.url;
    let result = this.metadataByFile.get(key);
    if (result === undefined) {
      result = (async () => {
        this.used = true;
        const { path, sha256 } = await this.client.download(file);
        const pkgInfo = sdistPkgInfo(await readArchive(path, file.filename));
        const metadata =
          pkgInfo === undefined ? undefined : staticMetadata(pkgInfo, `${file.filename}: PKG-INFO`);
        if (metadata !== undefined) {
          this.metadataOrigins.set(file.filename, "static");
          this.emit(`${file.filename}: static metadata (PEP 643) read without a build`);
          return metadata;
        }
        const { text, origin } = await this.builder.archiveMetadata(
          path,
          file.filename,
          sha256,
          file.filename,
          this.configFor(name),
        );
        this.metadataOrigins.set(file.filename, origin);
        return parseCoreMetadata(text, `${file.filename}: METADATA`);
      })();
      this.metadataByFile.set(key, result);
      result.catch(() => this.metadataByFile.delete(key));
    }
    return result;
  }

  /** How resolution read an index sdist's metadata, once it did. */
  metadataOrigin(filename: string): "static" | MetadataOrigin | undefined {
    return this.metadataOrigins.get(filename);
  }

  /** A requirement's own `--config-settings` (requirements files), by normalized name. */
  configFor(name: string): ConfigSettings | undefined {
    return this.configSettings.get(name);
  }

  /** Records a requirement line's `--config-settings` for the builds of `name`. */
  setConfigSettings(name: string, settings: ConfigSettings): void {
    this.configSettings.set(name, settings);
  }

  async buildSdist(file: DistributionFile, name: string): Promise<WheelArtifact> {
    this.used = true;
    const { path, sha256 } = await this.client.download(file);
    const built = await this.builder.buildArchive(
      path,
      file.filename,
      sha256,
      file.filename,
      this.configFor(name),
    );
    return fromBuilt(built);
  }

  /**
   * Fetches or builds what a direct reference names. `url` is absolute: `file:` (a
   * folder, wheel or sdist), `http(s):` (a wheel or sdist, `#sha256=` checked) or `git+…`.
   */
  prepareDirect(
    url: string,
    options: { editable?: boolean; name?: string; configSettings?: ConfigSettings },
  ): Promise<DirectArtifact> {
    const key = `${options.editable === true}\u0000${url}\u0000${settingsKey(options.configSettings)}`;
    let result = this.directs.get(key);
    if (result === undefined) {
      result = this.computeDirect(url, options);
      this.directs.set(key, result);
      result.catch(() => this.directs.delete(key));
    }
    return result;
  }

  private async computeDirect(
    url: string,
    options: { editable?: boolean; name?: string; configSettings?: ConfigSettings },
  ): Promise<DirectArtifact> {
    const settings = options.configSettings;
    this.used = true;
    const editable = options.editable === true ? { editable: true } : {};
    const label = options.name ?? redactUrl(url);
    if (isVcsUrl(url)) {
      const reference = parseVcsUrl(url);
      const checkout = join(await this.scratchFolder(), `git-${this.directs.size}`);
      const { commit } = await checkoutGit(reference, checkout, this.env);
      const folder =
        reference.subdirectory === undefined ? checkout : join(checkout, reference.subdirectory);
      const built = fromBuilt(
        await this.builder.buildTree(folder, `${label}@${commit.slice(0, 12)}`, settings),
      );
      this.emit(`${label}: ${redactUrl(reference.repository)} at commit ${commit}`);
      return this.artifact(built, {
        kind: "vcs",
        url: this.shownUrl(pinnedVcsUrl(reference, commit)),
        requestedRevision: reference.revision ?? "HEAD",
        commit,
        ...editable,
      });
    }
    const fragment = new URLSearchParams(url.includes("#") ? url.slice(url.indexOf("#") + 1) : "");
    const sha256 = fragment.get("sha256")?.toLowerCase();
    const bare = url.split("#")[0]!;
    let path: string;
    let filename: string;
    if (/^file:/i.test(bare)) {
      path = fileURLToPath(bare);
      const info = await stat(path).catch(() => null);
      if (info === null) {
        throw new PylayerError("file-not-found", `${label}: ${path} does not exist`, {
          hint: "Paths in requirements files are relative to the file; on the command line, to the current folder.",
        });
      }
      if (info.isDirectory()) {
        if (sha256 !== undefined) {
          throw new PylayerError(
            "hash-on-directory",
            `${label}: a folder cannot be checked against a hash`,
            {
              hint: "Drop #sha256= from the folder's URL (hash-checking mode cannot pin a local folder; use an sdist or wheel).",
            },
          );
        }
        const built = fromBuilt(await this.builder.buildTree(path, basename(path), settings));
        return this.artifact(built, {
          kind: "directory",
          url: pathToFileURL(path).href,
          ...editable,
        });
      }
      filename = basename(path);
      const local = await this.client.download(directFile(filename, bare, sha256));
      path = local.path;
      return this.fromFile(path, filename, local.sha256, bare, editable, settings);
    }
    if (!/^https?:/i.test(bare)) {
      throw new PylayerError(
        "unsupported-url",
        `${redactUrl(url)} is not a file, http(s) or git+ URL`,
        {
          hint: "Direct references are file:, https:, or git+https:/git+ssh:/git+file: URLs.",
        },
      );
    }
    filename = decodeURIComponent(basename(new URL(bare).pathname));
    const downloaded = await this.client.download(directFile(filename, bare, sha256));
    return this.fromFile(downloaded.path, filename, downloaded.sha256, bare, editable, settings);
  }

  private async fromFile(
    path: string,
    filename: string,
    sha256: string,
    url: string,
    editable: { editable?: boolean },
    settings: ConfigSettings | undefined,
  ): Promise<DirectArtifact> {
    if (isWheelFilename(filename)) {
      const tags = parseWheelFilename(filename).tags;
      return this.artifact(
        {
          path,
          filename,
          sha256,
          tags: tags.map(tagToString),
          pure: tags.every((tag) => tag.abi === "none" && tag.platform === "any"),
        },
        { kind: "wheel-url", url: this.shownUrl(url), sha256, ...editable },
      );
    }
    const built = fromBuilt(
      await this.builder.buildArchive(path, filename, sha256, filename, settings),
    );
    return this.artifact(built, {
      kind: "archive",
      url: this.shownUrl(url),
      sha256,
      ...editable,
    });
  }

  private async artifact(wheel: WheelArtifact, source: PackageSource): Promise<DirectArtifact> {
    const metadata = await wheelMetadata(wheel);
    return {
      name: normalizeName(metadata.name),
      version: Version.parse(metadata.version),
      metadata,
      wheel,
      source,
    };
  }

  private scratchFolder(): Promise<string> {
    this.scratch ??= mkdtemp(join(tmpdir(), "pylayer-direct-"));
    return this.scratch;
  }

  async dispose(): Promise<void> {
    if (this.scratch !== undefined) await rm(await this.scratch, { recursive: true, force: true });
    await this.builder.dispose();
  }

  /**
   * How `wheel` of `name` fits `target`: its best tag, or a refusal. A native wheel
   * built here is platform-specific to this machine and this Python, so it is used only
   * when asked for (`--allow-native-sdist`) and when both match the target.
   */
  fitFor(
    name: string,
    version: string,
    wheel: WheelArtifact,
    target: Target,
  ): { tag: string; pure: boolean } {
    if (wheel.pure) return { tag: wheel.tags[0]!, pure: true };
    const selector = new TagSelector(target);
    const compatibility = selector.check(parseWheelFilename(wheel.filename));
    if (compatibility.compatible) return { tag: tagToString(compatibility.tag), pure: false };
    if (wheel.built === undefined) {
      throw new PylayerError(
        "incompatible-wheel",
        `${name} ${version}: ${wheel.filename} does not run on ${target.id} (${compatibility.reason})`,
        {
          hint: "Point the direct reference at a wheel built for the target (manylinux, the runtime's Python and architecture).",
        },
      );
    }
    const python = wheel.built.python;
    const machine = python.machine === "arm64" ? "aarch64" : python.machine;
    const wanted = target.architecture === "arm64" ? "aarch64" : "x86_64";
    const mismatch =
      python.system !== "linux"
        ? `this machine runs ${python.system}, not Linux`
        : machine !== wanted
          ? `this machine is ${python.machine}, the target is ${target.architecture}`
          : python.version[0] !== target.runtime.python[0] ||
              python.version[1] !== target.runtime.python[1]
            ? `the build Python is ${python.version.join(".")}, the runtime is Python ${target.runtime.python.join(".")}`
            : python.implementation !== "cpython"
              ? `the build Python is ${python.implementation}, Lambda runs CPython`
              : undefined;
    const optedIn = matches(this.policy.allowNative, name);
    if (mismatch === undefined && optedIn) {
      return { tag: wheel.tags[0]!, pure: false };
    }
    const why =
      mismatch !== undefined
        ? `it cannot be used for ${target.id}: ${mismatch}`
        : `it is used only with --allow-native-sdist ${name} (this machine matches ${target.id}; the wheel is then checked against the runtime's glibc)`;
    throw new PylayerError(
      "native-sdist-refused",
      `${name} ${version} was built from source into ${wheel.filename}, which contains compiled code for this machine; ${why}`,
      {
        hint: `What would work: a release of ${name} that publishes manylinux wheels for ${target.id} (pin it, or --only-binary ${name}), a wheel from another index (--extra-index-url), building on a Linux ${target.architecture} machine with Python ${target.runtime.python.join(".")} and --allow-native-sdist ${name}, or a container build (e.g. public.ecr.aws/sam/build-${target.runtime.name}).`,
        details: { package: name, version, wheel: wheel.filename, target: target.id },
      },
    );
  }
}

function fromBuilt(built: BuiltWheel): WheelArtifact {
  return {
    path: built.path,
    filename: built.filename,
    sha256: built.sha256,
    tags: built.tags,
    pure: built.pure,
    built,
  };
}

async function wheelMetadata(
  wheel: Pick<WheelArtifact, "path" | "filename">,
): Promise<CoreMetadata> {
  const reader = await ZipReader.open(wheel.path);
  try {
    return (await readWheelMetadata(reader, wheel.filename)).core;
  } finally {
    await reader.close();
  }
}

/** A direct URL as an index file, so that the index client downloads and verifies it. */
export function directFile(
  filename: string,
  url: string,
  sha256: string | undefined,
): DistributionFile {
  return {
    filename,
    url,
    hashes: sha256 === undefined ? {} : { sha256 },
    yanked: false,
    coreMetadata: false,
    index: redactUrl(url),
  };
}

/** The index file of a wheel on this machine (built, or downloaded by a direct reference). */
export function localWheelFile(wheel: WheelArtifact): DistributionFile {
  return directFile(wheel.filename, pathToFileURL(wheel.path).href, wheel.sha256);
}
