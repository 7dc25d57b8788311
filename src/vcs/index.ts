/**
 * Version-control direct references (pip's VCS support, PEP 440 "direct references"):
 * `git+https://host/org/repo.git@REV#subdirectory=path`, with `git+ssh`, `git+file` and
 * `git+http` alike. REV is a branch, a tag or a commit; it is resolved to a commit by the
 * `git` on PATH, and that commit is what gets recorded and locked.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PylayerError, redactCredentials, redactUrl } from "../errors.js";

const execFileAsync = promisify(execFile);

export interface VcsReference {
  vcs: "git";
  /** The repository URL as git takes it (no `git+`, no `@REV`, no fragment). */
  repository: string;
  /** Branch, tag or commit; undefined: the remote's default branch. */
  revision?: string;
  /** `#subdirectory=` of the fragment: where the project is inside the repository. */
  subdirectory?: string;
  /** `#egg=` of the fragment: the project name, when given. */
  egg?: string;
}

export function isVcsUrl(url: string): boolean {
  return /^(git|hg|svn|bzr)\+/i.test(url);
}

/** Parses a `git+…` URL; other version-control systems are refused. */
export function parseVcsUrl(url: string): VcsReference {
  const match = /^([a-z]+)\+(.*)$/i.exec(url);
  if (match === null || match[1]!.toLowerCase() !== "git") {
    throw new PylayerError(
      "unsupported-vcs",
      `${redactUrl(url)}: only git repositories are supported`,
      {
        hint: "Use a git+https://, git+ssh:// or git+file:// URL, or publish the project as a wheel.",
      },
    );
  }
  let rest = match[2]!;
  const fragments = new URLSearchParams();
  const hash = rest.indexOf("#");
  if (hash >= 0) {
    for (const [key, value] of new URLSearchParams(rest.slice(hash + 1))) fragments.set(key, value);
    rest = rest.slice(0, hash);
  }
  // The revision follows the last "@" of the path, not one in the user-info part.
  const schemeEnd = rest.indexOf("://");
  const pathStart = schemeEnd < 0 ? 0 : rest.indexOf("/", schemeEnd + 3);
  const at = rest.lastIndexOf("@");
  let revision: string | undefined;
  if (pathStart >= 0 && at > pathStart) {
    revision = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const subdirectory = fragments.get("subdirectory") ?? undefined;
  const egg = fragments.get("egg") ?? undefined;
  return {
    vcs: "git",
    repository: rest,
    ...(revision ? { revision } : {}),
    ...(subdirectory ? { subdirectory } : {}),
    ...(egg ? { egg } : {}),
  };
}

/**
 * A git direct reference as pip and PEP 508 write it: `git+REPOSITORY[@REVISION]
 * [#subdirectory=DIR]` (an absent or empty revision or subdirectory is left out).
 */
export function vcsUrl(parts: {
  repository: string;
  revision?: string | undefined;
  subdirectory?: string | undefined;
}): string {
  const { repository, revision, subdirectory } = parts;
  return `git+${repository}${revision ? `@${revision}` : ""}${subdirectory ? `#subdirectory=${subdirectory}` : ""}`;
}

/** The URL with the revision pinned to `commit` (what a lock records). */
export function pinnedVcsUrl(reference: VcsReference, commit: string): string {
  return vcsUrl({
    repository: reference.repository,
    revision: commit,
    subdirectory: reference.subdirectory,
  });
}

async function git(
  args: string[],
  cwd: string | undefined,
  env: NodeJS.ProcessEnv,
  what: string,
): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", args, {
      ...(cwd === undefined ? {} : { cwd }),
      env: { ...env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: env.GIT_ASKPASS ?? "" },
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === "ENOENT") {
      throw new PylayerError("git-not-found", `${what} needs git, and there is no git on PATH`, {
        hint: "Install git, or require a released version of the project instead of a git URL.",
      });
    }
    const stderr = redactCredentials(String(failure.stderr ?? failure.message))
      .trim()
      .split("\n")
      .slice(-5)
      .join("\n");
    throw new PylayerError(
      "git-failed",
      `${what} failed: git ${redactCredentials(args[0] ?? "")}: ${stderr}`,
      {
        hint: "Check the repository URL, the branch, tag or commit, and your access to the repository.",
      },
    );
  }
}

/**
 * Clones the repository into `destination` and checks out the revision; returns the
 * commit checked out.
 */
export async function checkoutGit(
  reference: VcsReference,
  destination: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ commit: string }> {
  const what = `checking out ${redactUrl(reference.repository)}${reference.revision === undefined ? "" : `@${reference.revision}`}`;
  await git(
    ["clone", "--quiet", "--no-checkout", reference.repository, destination],
    undefined,
    env,
    what,
  );
  const revision = reference.revision ?? "HEAD";
  let commit: string | undefined;
  // A branch exists only as origin/NAME after a clone; tags and commits resolve as given.
  for (const name of [revision, `origin/${revision}`]) {
    try {
      commit = await git(
        ["rev-parse", "--verify", "--quiet", `${name}^{commit}`],
        destination,
        env,
        what,
      );
      break;
    } catch {
      // Try the next spelling.
    }
  }
  if (commit === undefined) {
    throw new PylayerError(
      "git-revision-not-found",
      `${redactUrl(reference.repository)} has no branch, tag or commit ${revision}`,
      { hint: "Check the revision after @ in the URL (git ls-remote lists branches and tags)." },
    );
  }
  await git(
    ["-c", "advice.detachedHead=false", "checkout", "--quiet", commit],
    destination,
    env,
    what,
  );
  return { commit };
}
