/**
 * The factory's error classes: an error is retryable when running the same item again
 * later can succeed (throttling, AWS service errors, an index that had trouble), and a
 * user error otherwise (a requirement that cannot be resolved, a check that fails, a
 * missing permission): retrying those only costs time and money.
 */
import { isPylayerError, PylayerError } from "../errors.js";
import type { ErrorReport } from "./types.js";

/** Codes that are retryable whatever their details say. */
const RETRYABLE_CODES = new Set(["aws-throttled", "aws-network", "aws-conflict", "network"]);

/** The name of the error the Lambda handler throws for a retryable failure (Step Functions' `ErrorEquals`). */
export const RETRYABLE_ERROR_NAME = "PylayerRetryableError";

function statusOf(error: PylayerError): number | undefined {
  const fromDetails = error.details?.status;
  if (typeof fromDetails === "number") return fromDetails;
  const cause = error.cause as { $metadata?: { httpStatusCode?: number } } | undefined;
  return cause?.$metadata?.httpStatusCode;
}

export function isRetryable(error: PylayerError): boolean {
  if (RETRYABLE_CODES.has(error.code)) return true;
  if (error.code === "aws-error" || error.code === "http-error") {
    const status = statusOf(error);
    return status !== undefined && (status >= 500 || status === 429);
  }
  return false;
}

/** Any thrown value as an ErrorReport; what is not a PylayerError is an internal error (not retried). */
export function reportError(error: unknown): ErrorReport {
  if (isPylayerError(error)) {
    return {
      code: error.code,
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      retryable: isRetryable(error),
    };
  }
  return {
    code: "internal",
    message: error instanceof Error ? error.message : String(error),
    hint: "This is a bug in pylayer's factory; please report it with the item.",
    retryable: false,
  };
}

/** What the Lambda handler throws so that the state machine retries the item. */
export class RetryableItemError extends Error {
  readonly report: ErrorReport;

  constructor(report: ErrorReport) {
    super(`${report.code}: ${report.message}`);
    this.name = RETRYABLE_ERROR_NAME;
    this.report = report;
  }
}

export function factoryError(code: string, message: string, hint: string): PylayerError {
  return new PylayerError(code, message, { hint });
}
