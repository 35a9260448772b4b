import { type CanvasErrorDetails, CanvasResponseError } from "./errors.js";
import { type PageLinks, parseLinkHeader } from "./link.js";
import { redactedPath } from "./logger.js";
import { header, type RawResponse, requestIdOf } from "./response-policy.js";

export interface PaginateOptions {
  signal?: AbortSignal;
  /**
   * Pages fetched ahead while the caller consumes the current one (0 = fetch on demand). Memory
   * holds at most `prefetch + 1` pages.
   * @default 1
   */
  prefetch?: number;
  /**
   * Called each time the walk stops fetching ahead because `buffered` pages wait for the caller:
   * for progress displays, and for tests that check how far a walk ran ahead.
   */
  onPrefetchPause?: (buffered: number) => void;
}

/** One page of a list, as `pages()` yields it. */
export interface CanvasPage<T> {
  items: T[];
  /** 0 for the first page. */
  index: number;
  /** The page's `Link` header (absolute URLs from Canvas). */
  links: PageLinks;
}

/** A page as read from one answer, with where the list continues (or why it cannot). */
export interface FetchedPage<T> {
  page: CanvasPage<T>;
  next?: URL;
  /** The rows are good; the problem is where (or whether) the list continues. */
  nextError?: CanvasResponseError;
}

export function validPrefetch(prefetch: number): number {
  if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 16) {
    const error = new TypeError(
      `paginate option "prefetch" must be an integer from 0 to 16; received ${prefetch}`,
    );
    (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
    throw error;
  }
  return prefetch;
}

/**
 * Reads one page answer: its rows and the `rel="next"` link, which is followed only on the
 * configured origin, never with an `access_token` in it, and never back to the same page.
 */
export function readPage<T>(url: URL, index: number, response: RawResponse, origin: string): FetchedPage<T> {
  const details: CanvasErrorDetails = {
    status: response.status,
    method: "GET",
    path: redactedPath(url.pathname),
    requestId: requestIdOf(response.headers),
  };
  if (!Array.isArray(response.data)) {
    throw new CanvasResponseError(
      `Canvas GET ${details.path} returned a page that is not a JSON array`,
      details,
    );
  }
  const linkHeader = header(response.headers, "link");
  const links = parseLinkHeader(linkHeader);
  const page: CanvasPage<T> = { items: response.data as T[], index, links };
  if (links.next) {
    let next: URL;
    try {
      next = new URL(links.next);
    } catch (cause) {
      const nextError = new CanvasResponseError(`Canvas GET ${details.path} sent an unparsable next link`, {
        ...details,
        cause,
      });
      return { page, nextError };
    }
    // Never send the token to a host the caller did not configure.
    if (next.origin !== origin) {
      const nextError = new CanvasResponseError(
        `Canvas GET ${details.path} sent a next link to another origin (${next.origin}); refusing to follow it`,
        details,
      );
      return { page, nextError };
    }
    // We authenticate with the header; a token in a URL would end up in logs and proxies.
    next.searchParams.delete("access_token");
    if (next.href === url.href) {
      return {
        page,
        nextError: new CanvasResponseError(
          `Canvas GET ${details.path} sent a next link to the same page`,
          details,
        ),
      };
    }
    return { page, next };
  }
  if (linkHeader === undefined) {
    // A full page with no Link header at all may be a list cut short by a proxy or a bug:
    // fail loudly rather than silently return the first page only.
    const perPage = Number(url.searchParams.get("per_page"));
    if (perPage > 0 && response.data.length >= perPage) {
      const nextError = new CanvasResponseError(
        `Canvas GET ${details.path} returned a full page (${response.data.length} items) without a Link header; the list may continue`,
        details,
      );
      return { page, nextError };
    }
  }
  return { page };
}

/**
 * Walks a list from `first`, one `fetchPage` at a time, up to `prefetch` pages ahead of the
 * consumer. Leaving the loop early (or the caller's signal) aborts the request in flight.
 */
export async function* walkPages<T>(
  first: URL,
  fetchPage: (url: URL, index: number, signal: AbortSignal) => Promise<FetchedPage<T>>,
  options: {
    prefetch: number;
    signal?: AbortSignal | undefined;
    onPrefetchPause?: ((buffered: number) => void) | undefined;
  },
): AsyncGenerator<CanvasPage<T>> {
  const { prefetch, signal, onPrefetchPause } = options;
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) throw signal.reason;
  signal?.addEventListener("abort", onCallerAbort, { once: true });

  const buffer: Array<CanvasPage<T>> = [];
  let finished = false;
  let failure: { error: unknown } | undefined;
  let consumerWaiting = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const notifyConsumer = () => {
    // Cleared here, not when the consumer resumes: the producer must not read a stale "waiting".
    consumerWaiting = false;
    const wake = wakeConsumer;
    wakeConsumer = undefined;
    wake?.();
  };
  const notifyProducer = () => {
    const wake = wakeProducer;
    wakeProducer = undefined;
    wake?.();
  };

  const produce = async () => {
    let url: URL | undefined = first;
    let index = 0;
    while (url) {
      while (buffer.length >= prefetch && !consumerWaiting) {
        const parked = new Promise<void>((resolve) => {
          wakeProducer = resolve;
        });
        onPrefetchPause?.(buffer.length);
        await parked;
        if (controller.signal.aborted) return;
      }
      const { page, next, nextError } = await fetchPage(url, index++, controller.signal);
      buffer.push(page);
      notifyConsumer();
      if (nextError) throw nextError;
      url = next;
    }
  };
  produce().then(
    () => {
      finished = true;
      notifyConsumer();
    },
    (error: unknown) => {
      failure = { error };
      notifyConsumer();
    },
  );

  try {
    for (;;) {
      const page = buffer.shift();
      if (page) {
        notifyProducer();
        yield page;
        continue;
      }
      if (failure) throw failure.error;
      if (finished) return;
      consumerWaiting = true;
      notifyProducer();
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
  } finally {
    // Early `break` or an error: cancel the request in flight, release the producer.
    controller.abort(new DOMException("pagination stopped", "AbortError"));
    notifyProducer();
    signal?.removeEventListener("abort", onCallerAbort);
  }
}
