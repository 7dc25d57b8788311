import { describe, expect, it } from "vitest";
import { forEachWeighted } from "../../src/check/layout.js";
import { ReadBudget } from "../../src/files.js";

/** Resolves after a few turns of the event loop, so that other tasks get to start. */
const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 2));

describe("forEachWeighted with a shared ReadBudget", () => {
  it("keeps two concurrent loops within one budget, not one each", async () => {
    const budget = new ReadBudget(100);
    let highest = 0;
    const task = async () => {
      highest = Math.max(highest, budget.held);
      await pause();
    };
    const items = Array.from({ length: 12 }, () => 40);
    await Promise.all([
      forEachWeighted(items, (weight) => weight, task, 8, budget),
      forEachWeighted(items, (weight) => weight, task, 8, budget),
    ]);
    // Two items of 40 fit in 100; a third would not (with a budget per loop, four would run).
    expect(highest).toBe(80);
    expect(budget.held).toBe(0);
  });

  it("runs an item heavier than the budget alone, then carries on", async () => {
    const budget = new ReadBudget(100);
    const seen: number[] = [];
    await forEachWeighted(
      [10, 250, 10, 10],
      (weight) => weight,
      async (weight) => {
        if (weight === 250) seen.push(budget.held);
        await pause();
      },
      8,
      budget,
    );
    expect(seen).toEqual([250]);
    expect(budget.held).toBe(0);
  });

  it("releases its share when a task fails", async () => {
    const budget = new ReadBudget(100);
    await expect(
      forEachWeighted(
        [60],
        (weight) => weight,
        async () => {
          throw new Error("unreadable");
        },
        8,
        budget,
      ),
    ).rejects.toThrow("unreadable");
    expect(budget.held).toBe(0);
  });
});

describe("ReadBudget.tryAcquire", () => {
  it("takes only what fits now, never beyond the limit even when nothing is held", async () => {
    const budget = new ReadBudget(100);
    expect(budget.tryAcquire(150)).toBe(false);
    expect(budget.held).toBe(0);
    expect(budget.tryAcquire(60)).toBe(true);
    expect(budget.tryAcquire(50)).toBe(false);
    expect(budget.tryAcquire(40)).toBe(true);
    expect(budget.held).toBe(100);
    // A waiting `acquire` goes on once a tried share is released.
    let acquired = false;
    const waiting = budget.acquire(30).then(() => {
      acquired = true;
    });
    await pause();
    expect(acquired).toBe(false);
    budget.release(40);
    await waiting;
    expect(budget.held).toBe(90);
  });
});
