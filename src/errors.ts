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

/** Replaces the user-info part of every URL in `text` (`https://user:token@host` → `https://***@host`). */
export function redactCredentials(text: string): string {
  return text.replace(URL_USERINFO, "$1***@");
}

/** One URL with its credentials hidden, for messages and logs. */
export function redactUrl(url: string | URL): string {
  return redactCredentials(String(url));
}
