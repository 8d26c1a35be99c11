// route.ts: the page's address.  The #fragment names the view and, after a
// "?", that view's settings, so that a reload or a shared link shows the same
// thing: "#search?user=6&from=2026-12-01T00:00:00Z&cursor=...".  Times in it
// are RFC 3339 instants (UTC), so a link means the same in every zone.

export const VIEW_IDS = ['record', 'search', 'activity'] as const;
export type ViewId = (typeof VIEW_IDS)[number];

export interface Route {
  view: ViewId;
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const name = q < 0 ? body : body.slice(0, q);
  const view = (VIEW_IDS as readonly string[]).includes(name) ? (name as ViewId) : 'record';
  return { view, params: new URLSearchParams(q < 0 ? '' : body.slice(q + 1)) };
}

export function currentRoute(): Route {
  return parseHash(window.location.hash);
}

/** "#view?a=1&b=2", leaving out empty values; commas and colons as they are,
 * for an address people can read. */
export function hashFor(view: ViewId, params: Record<string, string | undefined | null>): string {
  const q = Object.entries(params)
    .filter(([, v]) => v != null && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v as string).replace(/%2C/gi, ',').replace(/%3A/gi, ':')}`)
    .join('&');
  return q ? `#${view}?${q}` : `#${view}`;
}

/** Puts a view's settings in the address: a new history entry (so Back
 * returns to the previous search), or in place of the current one.  No
 * hashchange event follows: the view already shows what the address says. */
export function writeRoute(hash: string, mode: 'push' | 'replace' = 'push'): void {
  if (window.location.hash === hash) return;
  const url = `${window.location.pathname}${window.location.search}${hash}`;
  if (mode === 'push') window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
}
