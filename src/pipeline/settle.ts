/**
 * `Promise.all` that lets every task finish before it rejects, with the reason of the
 * first task to fail: a build that fails leaves no work behind it (another task's download,
 * sdist build or cache write would otherwise go on after the call that started it has
 * returned, and race whoever cleans up).
 */
export async function allOrFirstFailure<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  let failure: { reason: unknown } | undefined;
  const settled = await Promise.allSettled(
    tasks.map((task) =>
      task.catch((reason: unknown) => {
        failure ??= { reason };
        throw reason;
      }),
    ),
  );
  if (failure !== undefined) throw failure.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}
