/**
 * The one error type pylayer throws for anything a user can act on.
 *
 * `code` is stable (scripts and `--json` consumers match on it), `message` names the
 * package, target or file concerned, and `hint` says what to do about it. `exitCode`
 * follows the CLI contract: 1 for user-facing failures, 2 for usage or internal errors.
 */
export class PylayerError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: 1 | 2;
  /** Extra structured facts for `--json` output (e.g. rejected candidates). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    options: {
      hint?: string;
      cause?: unknown;
      exitCode?: 1 | 2;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(redactCredentials(message), options.cause === undefined ? {} : { cause: options.cause });
    this.name = "PylayerError";
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redactCredentials(options.hint);
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isPylayerError(error: unknown): error is PylayerError {
  return error instanceof PylayerError;
}

/** A usage error: bad flags or arguments. Exit code 2. */
export function usageError(message: string, hint?: string): PylayerError {
  return new PylayerError("usage", message, {
    exitCode: 2,
    ...(hint === undefined ? {} : { hint }),
  });
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@]+)@/gi;
/**
 * Query parameters that carry secrets: tokens (`?token=`, `private_token`, `access_token`,
 * `X-Amz-Security-Token`), signatures of pre-signed URLs (`X-Amz-Signature`, `sig` of
 * Azure SAS), keys, passwords and credentials. Matched by name, case-insensitively.
 */
const SECRET_QUERY =
  /([?&](?:[a-z0-9_.-]*(?:token|password|passwd|pwd|secret|signature|credential|key|auth)[a-z0-9_.-]*|sig)=)[^&#\s"'<>]+/gi;

/**
 * Hides the credentials of every URL in `text`: the user-info part
 * (`https://user:token@host` → `https://***@host`) and the values of secret-looking query
 * parameters (`?token=abc` → `?token=***`).
 */
export function redactCredentials(text: string): string {
  return text.replace(URL_USERINFO, "$1***@").replace(SECRET_QUERY, "$1***");
}

/** Whether `url` carries a secret-looking query parameter (kept in locks, so worth a warning). */
export function hasSecretQuery(url: string): boolean {
  // `search` ignores the global flag's lastIndex, which `test` would carry between calls.
  return url.search(SECRET_QUERY) !== -1;
}

/** One URL with its credentials hidden, for messages and logs. */
export function redactUrl(url: string | URL): string {
  return redactCredentials(String(url));
}

/** The fields Node puts on a failed file-system call. */
interface SystemError {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

function systemErrorOf(error: unknown): SystemError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return current as SystemError;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A failed local file-system call (in `error` or its causes) as a PylayerError naming
 * the path: `disk-full` (ENOSPC, EDQUOT), `not-writable` (EROFS), `permission-denied` (EACCES, EPERM),
 * `not-a-folder` (ENOTDIR: a parent of the path is a file). Undefined for other errors,
 * which stay what they were. `path` names the file when the error does not.
 */
export function fileSystemError(error: unknown, path?: string): PylayerError | undefined {
  if (error instanceof PylayerError) return undefined;
  const system = systemErrorOf(error);
  if (system === undefined) return undefined;
  const where = system.path ?? path;
  if (where === undefined) return undefined;
  const cause = error;
  switch (system.code) {
    case "ENOSPC":
    case "EDQUOT":
      return new PylayerError(
        "disk-full",
        `no space left to write ${where} (${system.code}${system.syscall ? ` in ${system.syscall}` : ""})`,
        {
          hint: "Free some space on that file system, or point the output (-o), the cache (--cache-dir) or TMPDIR at one with room.",
          cause,
        },
      );
    case "EROFS":
      return new PylayerError(
        "not-writable",
        `cannot write ${where}: the file system is read-only (EROFS)`,
        { hint: "Choose a writable location.", cause },
      );
    case "EACCES":
    case "EPERM":
      return new PylayerError(
        "permission-denied",
        `permission denied for ${where} (${system.code}${system.syscall ? ` in ${system.syscall}` : ""})`,
        { hint: "Choose a location you may write to, or fix the permissions.", cause },
      );
    case "ENOTDIR":
      return new PylayerError(
        "not-a-folder",
        `cannot use ${where}: a part of that path is a file, not a folder (ENOTDIR)`,
        { hint: "Choose a path whose parents are folders.", cause },
      );
    default:
      return undefined;
  }
}
