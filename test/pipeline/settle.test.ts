/**
 * A build's parallel tasks (downloads, locked packages) settle before a failure is
 * reported: nothing a failed build started goes on writing into the cache after it has
 * returned. The failure reported is the first one to happen.
 */
import { describe, expect, it } from "vitest";
import { allOrFirstFailure } from "../../src/pipeline/settle.js";

const settleAfter = <T>(milliseconds: number, action: () => T) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(action());
      } catch (error) {
        reject(error);
      }
    }, milliseconds),
  );

describe("allOrFirstFailure", () => {
  it("resolves with every value in task order", async () => {
    const tasks: Promise<string | number>[] = [
      settleAfter(30, () => "slow"),
      settleAfter(0, () => "fast"),
      Promise.resolve(3),
    ];
    await expect(allOrFirstFailure(tasks)).resolves.toEqual(["slow", "fast", 3]);
  });

  it("rejects with the first failure, once every other task has ended", async () => {
    let slowEnded = false;
    const result = allOrFirstFailure<string>([
      settleAfter(80, () => {
        slowEnded = true;
        return "done";
      }),
      settleAfter(60, () => {
        throw new Error("second to fail");
      }),
      settleAfter(0, () => {
        throw new Error("first to fail");
      }),
    ]);
    await expect(result).rejects.toThrow("first to fail");
    expect(slowEnded).toBe(true);
  });
});
