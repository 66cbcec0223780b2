/** Waits `millis`; rejects with the signal's reason as soon as it aborts. */
export function sleep(millis: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, millis));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Resolves after `millis`, or as soon as the signal aborts (never rejects). */
export function pause(millis: number, signal?: AbortSignal): Promise<void> {
  return sleep(millis, signal).catch(() => {});
}

/**
 * The wait before retry number `retry` (from 1): exponential from `baseMillis`, capped at
 * `maxMillis`, with "equal jitter" (half fixed, half random) so retries of many workers spread out
 * and none retries at once in a tight loop.
 */
export function backoffMillis(retry: number, baseMillis = 100, maxMillis = 5000): number {
  const ceiling = Math.min(maxMillis, baseMillis * 2 ** Math.min(retry - 1, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * A child of `parent` (if any) that also aborts after `timeoutMillis`, with a reason that says so.
 * Call `dispose` when done so the parent does not keep a listener per request (long-lived worker
 * signals would otherwise collect one listener for every request ever made).
 */
export function timeoutSignal(
  timeoutMillis: number,
  parent?: AbortSignal,
): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`no answer within ${timeoutMillis} ms`));
  }, timeoutMillis);
  const onAbort = () => controller.abort(parent!.reason);
  if (parent) {
    if (parent.aborted) {
      onAbort();
    } else {
      parent.addEventListener("abort", onAbort, { once: true });
    }
  }
  return {
    signal: controller.signal,
    timedOut: () => expired,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * A signal aborted as soon as `a` or `b` is, with its reason (`AbortSignal.any` is missing from
 * early Node 20 releases and keeps its sources' listeners). Call `dispose` when done.
 */
export function eitherSignal(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onA = () => controller.abort(a.reason);
  const onB = () => controller.abort(b.reason);
  const dispose = () => {
    a.removeEventListener("abort", onA);
    b.removeEventListener("abort", onB);
  };
  if (a.aborted) {
    onA();
  } else if (b.aborted) {
    onB();
  } else {
    a.addEventListener("abort", onA, { once: true });
    b.addEventListener("abort", onB, { once: true });
  }
  return { signal: controller.signal, dispose };
}
