/** Git repositories for tests of `git+…` requirements, made with the `git` on PATH. */
import { execFileSync } from "node:child_process";
import { writeTree } from "./backends.js";
import { temporaryFolder } from "./sandbox.js";

/** Whether a `git` executable is on PATH. */
export const hasGit = (() => {
  try {
    execFileSync("git", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

export interface GitRepository {
  path: string;
  /** The commit `tag` names. */
  commit: string;
  /** Runs git in the repository (a fixed author and committer); returns its trimmed output. */
  git(...args: string[]): string;
}

/** A repository with `files` committed once and tagged `tag`. */
export async function gitRepository(
  files: Record<string, string>,
  tag: string,
): Promise<GitRepository> {
  const path = await temporaryFolder();
  await writeTree(path, files);
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: path,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.invalid",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.invalid",
      },
    })
      .toString()
      .trim();
  git("init", "--quiet", "-b", "main");
  git("add", ".");
  git("commit", "--quiet", "-m", "first");
  git("tag", tag);
  return { path, commit: git("rev-parse", "HEAD"), git };
}
