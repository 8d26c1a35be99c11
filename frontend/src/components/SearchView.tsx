import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import {
  ACTIONS,
  ApiError,
  exportEvents,
  fetchEventPage,
  searchUrl,
  type Action,
  type EventPage,
  type ExportFormat,
  type SearchParams,
  type StoredEvent,
} from '../api';
import { checkMetadata } from '../json';
import { hashFor, writeRoute } from '../route';
import { parseInputValue, timeZoneLabel, toInputValue, toRfc3339, type ZoneMode } from '../time';
import { optionalRangeErrors, userIdError } from '../validate';
import { Time, useZone, useZoneSwitch } from '../zone';
import { Announcement, ErrorBanner, Field, FieldError, fieldAria, Options, RangeTimeField, SubmitButton, UserIdField } from './Field';
import { ResultsCard } from './ResultsCard';
import { useMediaQuery } from './useMediaQuery';
import { lastHours, useRangeView } from './useRangeView';

type FieldName = 'user_id' | 'from' | 'to' | 'action' | 'limit' | 'action_from' | 'action_to' | 'metadata';
type Errors = Partial<Record<FieldName, string | null>>;

const INPUT_ID: Record<FieldName, string> = {
  user_id: 'search-user',
  from: 'search-from',
  to: 'search-to',
  action: 'search-action-created',
  limit: 'search-limit',
  action_from: 'search-acted-from',
  action_to: 'search-acted-to',
  metadata: 'search-metadata',
};

export const PAGE_SIZES = ['10', '25', '50', '100', '500'];

/*
 * The API pages a user's events by recorded time, oldest first (its key
 * order), and takes no other order.  The other orders sort the rows of the
 * page shown, and say so; across pages the order stays the recorded one.
 */
export const ORDERS = [
  { id: 'recorded', label: 'Recorded, oldest first (all pages)' },
  { id: 'acted-desc', label: 'Acted, newest first (this page)' },
  { id: 'acted-asc', label: 'Acted, oldest first (this page)' },
] as const;
export type Order = (typeof ORDERS)[number]['id'];

/** An unbounded recorded range: the API asks for one, so the widest. */
const EVER_FROM = '1970-01-01T00:00:00Z';
const EVER_TO = '9999-12-31T23:59:59Z';

/** A field's value as RFC 3339, undefined when empty (or not a time). */
function instant(value: string, zone: ZoneMode): string | undefined {
  const d = value.trim() ? parseInputValue(value, zone) : null;
  return d ? toRfc3339(d, zone) : undefined;
}

/** An RFC 3339 instant from the address as a field's value in the zone. */
function fieldValue(iso: string | null, zone: ZoneMode): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : toInputValue(d, zone);
}

const utc = (rfc: string | undefined) => (rfc ? new Date(rfc).toISOString().replace('.000Z', 'Z') : undefined);

function cursorOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).searchParams.get('cursor');
  } catch {
    return null;
  }
}

function sorted(events: StoredEvent[], order: Order): StoredEvent[] {
  if (order === 'recorded') return events;
  const sign = order === 'acted-desc' ? -1 : 1;
  return [...events].sort(
    (a, b) =>
      sign * (Date.parse(a.event_action_timestamp) - Date.parse(b.event_action_timestamp)) || sign * (a.id - b.id),
  );
}

interface Props {
  active: boolean;
  /** The address's settings while this view is shown (route.ts). */
  params?: URLSearchParams | null;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Search a user's events by recorded time, acted time or both, page
 * through them with the API's cursor and download all of them as CSV or
 * NDJSON.  The settings and the page are in the address. */
export function SearchView({ active, params }: Props) {
  const zone = useZone();
  // The recorded range: an untouched one is "the last 24 hours" each time
  // the view is shown.
  const range = useRangeView('search', active, zone, 24);
  const { from, to } = range;
  const [userId, setUserId] = useState('');
  const [actions, setActions] = useState<Action[]>([]);
  const [limit, setLimit] = useState('25');
  const [order, setOrder] = useState<Order>('recorded');
  const [actedFrom, setActedFrom] = useState('');
  const [actedTo, setActedTo] = useState('');
  const [metadata, setMetadata] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  // Cursor stack: the cursor of every page seen so far ('' for the first).
  const [cursors, setCursors] = useState<string[]>([]);
  const [pageIndex, setPageIndex] = useState(0);
  const [page, setPage] = useState<EventPage | null>(null);
  const [query, setQuery] = useState<SearchParams | null>(null);
  const [download, setDownload] = useState<{ format: ExportFormat; bytes: number } | null>(null);
  const [downloadMsg, setDownloadMsg] = useState<string | null>(null);
  const [announce, setAnnounce] = useState('');
  const abort = useRef<AbortController | null>(null);
  const exportAbort = useRef<AbortController | null>(null);
  const resultsRef = useRef<HTMLHeadingElement>(null);
  // Set when an answer arrives: once it is drawn, focus goes to its heading
  // (which also scrolls it into view on a phone).
  const focusResults = useRef(false);
  const narrow = useMediaQuery('(max-width: 639px)');

  useEffect(() => {
    if (page && focusResults.current) {
      focusResults.current = false;
      resultsRef.current?.focus();
    }
  }, [page]);

  useZoneSwitch(zone, [
    [actedFrom, setActedFrom],
    [actedTo, setActedTo],
  ]);

  const recorded = optionalRangeErrors(from, to, zone);
  const acted = optionalRangeErrors(actedFrom, actedTo, zone);
  const meta = metadata.trim() ? checkMetadata(metadata) : null;
  const clientErrors: Errors = {
    user_id: userIdError(userId),
    from: recorded.from,
    to: recorded.to,
    action_from: acted.from,
    action_to: acted.to,
    metadata: meta && !meta.ok ? `Line ${meta.line}, column ${meta.column}: ${meta.message}.` : null,
  };
  const shown = (f: FieldName) => (submitted ? clientErrors[f] : null) ?? serverErrors[f] ?? null;

  function paramsOf(s: {
    user: string;
    from: string;
    to: string;
    actedFrom: string;
    actedTo: string;
    actions: Action[];
    limit: string;
    metadata: string;
  }): SearchParams {
    return {
      user_id: s.user.trim(),
      from: instant(s.from, zone) ?? EVER_FROM,
      to: instant(s.to, zone) ?? EVER_TO,
      action: s.actions.length ? ACTIONS.filter((a) => s.actions.includes(a)).join(',') : undefined,
      action_from: instant(s.actedFrom, zone),
      action_to: instant(s.actedTo, zone),
      metadata: s.metadata.trim() ? JSON.stringify(JSON.parse(s.metadata)) : undefined,
      limit: s.limit,
    };
  }

  /** The address of a search's page: what the form says, the order, and
   * the cursors of the pages up to this one. */
  function routeOf(q: SearchParams, o: Order, stack: string[]): string {
    return hashFor('search', {
      user: q.user_id,
      from: q.from === EVER_FROM ? undefined : utc(q.from),
      to: q.to === EVER_TO ? undefined : utc(q.to),
      acted_from: utc(q.action_from),
      acted_to: utc(q.action_to),
      action: q.action,
      metadata: q.metadata,
      limit: q.limit === '25' ? undefined : q.limit,
      order: o === 'recorded' ? undefined : o,
      cursor: stack.slice(1).join(','),
    });
  }

  async function load(q: SearchParams, stack: string[], index: number, o: Order, history: 'push' | 'replace' | null) {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setLoading(true);
    setBanner(null);
    setDownloadMsg(null);
    setAnnounce('Searching…');
    const cursor = stack[index];
    try {
      const p = await fetchEventPage(searchUrl({ ...q, cursor: cursor || undefined }), ctl.signal);
      const kept = stack.slice(0, index + 1);
      setCursors(kept);
      setPageIndex(index);
      setPage(p);
      setQuery(q);
      setServerErrors({});
      const hash = routeOf(q, o, kept);
      range.lastHash.current = hash;
      if (history) writeRoute(hash, history);
      const size = Number(q.limit);
      const first = index * size + 1;
      setAnnounce(
        p.events.length
          ? `Page ${index + 1}: events ${first} to ${first + p.events.length - 1} of user ${q.user_id}.`
          : index === 0
            ? `Search done: no events of user ${q.user_id} match.`
            : 'No more events.',
      );
      focusResults.current = true;
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return;
      // What was shown answered another question: it goes.
      setPage(null);
      setAnnounce('');
      if (err instanceof ApiError && err.field && err.field in INPUT_ID) {
        setServerErrors({ [err.field]: err.detail || err.title });
        setSubmitted(true);
        focusField(err.field as FieldName);
      } else if (err instanceof ApiError) {
        setBanner(err.summary);
      } else {
        setBanner(`Search failed: ${(err as Error).message}`);
      }
    } finally {
      if (abort.current === ctl) setLoading(false);
    }
  }

  function focusField(f: FieldName) {
    requestAnimationFrame(() => document.getElementById(INPUT_ID[f])?.focus());
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (loading) return;
    setSubmitted(true);
    const first = (['user_id', 'from', 'to', 'action_from', 'action_to', 'metadata'] as FieldName[]).find(
      (k) => clientErrors[k],
    );
    if (first) {
      focusField(first);
      return;
    }
    const q = paramsOf({ user: userId, from, to, actedFrom, actedTo, actions, limit, metadata });
    void load(q, [''], 0, order, 'push');
  }

  // A search in the address (a reload, a shared link, Back, a link from a
  // top user): fill the form from it and run it, at its page.
  const paramsKey = params?.toString() ?? '';
  useEffect(() => {
    if (!params || !params.get('user')) return;
    if (range.showsAlready(params)) return;
    const get = (k: string) => params.get(k) ?? '';
    const f = fieldValue(params.get('from'), zone);
    const t = fieldValue(params.get('to'), zone);
    const af = fieldValue(params.get('acted_from'), zone);
    const at = fieldValue(params.get('acted_to'), zone);
    const acts = ACTIONS.filter((a) => get('action').split(',').includes(a));
    const lim = PAGE_SIZES.includes(get('limit')) ? get('limit') : '25';
    const o = (ORDERS.find((x) => x.id === get('order'))?.id ?? 'recorded') as Order;
    const m = get('metadata');
    setUserId(get('user'));
    range.setFrom(f);
    range.setTo(t);
    setActedFrom(af);
    setActedTo(at);
    setActions(acts);
    setLimit(lim);
    setOrder(o);
    setMetadata(m);
    range.setTouched(true);
    setServerErrors({});
    setSubmitted(false);
    const stack = ['', ...get('cursor').split(',').filter(Boolean)];
    const q: SearchParams = {
      user_id: get('user').trim(),
      from: params.get('from') || EVER_FROM,
      to: params.get('to') || EVER_TO,
      action: acts.length ? acts.join(',') : undefined,
      action_from: params.get('acted_from') || undefined,
      action_to: params.get('acted_to') || undefined,
      metadata: m || undefined,
      limit: lim,
    };
    void load(q, stack, stack.length - 1, o, null);
    range.lastHash.current = `#search?${paramsKey}`;
    // Runs when the address changes, with the state of that moment.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [paramsKey]);

  const next = () => {
    const c = cursorOf(page?.next ?? null);
    if (query && c && !loading) void load(query, [...cursors.slice(0, pageIndex + 1), c], pageIndex + 1, order, 'push');
  };
  const previous = () => {
    if (query && pageIndex > 0 && !loading) void load(query, cursors, pageIndex - 1, order, 'push');
  };

  function chooseOrder(o: Order) {
    setOrder(o);
    if (query) {
      const hash = routeOf(query, o, cursors.slice(0, pageIndex + 1));
      range.lastHash.current = hash;
      writeRoute(hash, 'replace');
    }
  }

  async function startDownload(format: ExportFormat) {
    if (!query) return;
    const ctl = new AbortController();
    exportAbort.current = ctl;
    setDownload({ format, bytes: 0 });
    setDownloadMsg(null);
    try {
      const blob = await exportEvents(query, format, (bytes) => setDownload({ format, bytes }), ctl.signal);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `user-${query.user_id}-events.${format === 'csv' ? 'csv' : 'ndjson'}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDownloadMsg(`Downloaded ${a.download} (${formatBytes(blob.size)}).`);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') setDownloadMsg('Download cancelled.');
      else setDownloadMsg(`Download failed: ${err instanceof ApiError ? err.summary : (err as Error).message}`);
    } finally {
      setDownload(null);
      exportAbort.current = null;
    }
  }

  const toggleAction = (a: Action) => {
    setActions((cur) => (cur.includes(a) ? cur.filter((x) => x !== a) : [...cur, a]));
    if (serverErrors.action) setServerErrors((e) => ({ ...e, action: null }));
  };
  const edit = (set: (v: string) => void, field: FieldName, recorded = false) => (v: string) => {
    set(v);
    if (recorded) range.setTouched(true);
    if (serverErrors[field]) setServerErrors((e) => ({ ...e, [field]: null }));
  };
  const lastDay = (setF: (v: string) => void, setT: (v: string) => void) => () => {
    const r = lastHours(24, zone);
    setF(r.from);
    setT(r.to);
    range.setTouched(true);
  };
  const clear = (setF: (v: string) => void, setT: (v: string) => void) => () => {
    setF('');
    setT('');
    range.setTouched(true);
  };

  const events = sorted(page?.events ?? [], order);
  const size = Number(query?.limit ?? limit);
  const firstRow = pageIndex * size + 1;
  const lastRow = firstRow + events.length - 1;
  const zoneText = timeZoneLabel(new Date(), zone);

  /** A range's fieldset: its bounds ("<word> from", "<word> before") and
   * two shortcuts.  Editing the recorded range stops it following the
   * clock. */
  const rangeFields = (r: {
    legend: string;
    word: string;
    fields: [FieldName, FieldName];
    values: [string, string];
    sets: [(v: string) => void, (v: string) => void];
    recorded: boolean;
  }) => (
    <fieldset className="range">
      <legend>{r.legend}</legend>
      {r.fields.map((f, i) => (
        <RangeTimeField
          key={f}
          id={INPUT_ID[f]}
          label={`${r.word} ${i ? 'before' : 'from'}`}
          formatId="search-time-format"
          error={shown(f)}
          value={r.values[i]}
          onChange={edit(r.sets[i], f, r.recorded)}
        />
      ))}
      <p className="range-tools">
        <button type="button" className="link-button" onClick={lastDay(...r.sets)}>
          Last 24 hours
        </button>
        <button type="button" className="link-button" onClick={clear(...r.sets)}>
          Any time
        </button>
      </p>
    </fieldset>
  );

  const pager = (where: 'top' | 'bottom') =>
    page ? (
      <nav className={`pager pager-${where}`} aria-label={where === 'top' ? 'Result pages (top)' : 'Result pages'}>
        <button type="button" className="secondary" onClick={previous} aria-disabled={loading || undefined} disabled={pageIndex === 0}>
          ← Previous
        </button>
        <span>Page {pageIndex + 1}</span>
        <button type="button" className="secondary" onClick={next} aria-disabled={loading || undefined} disabled={!page.next}>
          Next →
        </button>
      </nav>
    ) : null;

  let count: ReactNode = null;
  if (page && query) {
    if (!page.next) {
      const total = pageIndex * size + page.events.length;
      count = total ? <>{total === 1 ? '1 match' : `${total} matches`} in all.</> : null;
    } else {
      count = (
        <>
          More than {lastRow} matches. The API gives no total: counting would read every matching event, so it pages
          instead; a download has them all.
        </>
      );
    }
  }

  return (
    <div className="view-body">
      <form className="card form" onSubmit={onSubmit} noValidate aria-busy={loading}>
        <div className="grid-search-top">
          <UserIdField id="search-user" error={shown('user_id')} value={userId} onChange={edit(setUserId, 'user_id')} />
          <Field id="search-limit" label="Per page" error={shown('limit')}>
            <select id="search-limit" value={limit} onChange={(e) => setLimit(e.target.value)}>
              <Options values={PAGE_SIZES} />
            </select>
          </Field>
        </div>
        <p id="search-time-format" className="hint">
          Times as YYYY-MM-DD HH:MM[:SS], 24-hour, in {zoneText}. An empty bound is open: a range may be left empty.
        </p>
        <div className="grid-2 ranges">
          {rangeFields({
            legend: 'When the events were recorded',
            word: 'Recorded',
            fields: ['from', 'to'],
            values: [from, to],
            sets: [range.setFrom, range.setTo],
            recorded: true,
          })}
          {rangeFields({
            legend: 'When the users acted',
            word: 'Acted',
            fields: ['action_from', 'action_to'],
            values: [actedFrom, actedTo],
            sets: [setActedFrom, setActedTo],
            recorded: false,
          })}
        </div>
        <fieldset className={`checks${shown('action') ? ' invalid' : ''}`} aria-describedby={shown('action') ? 'search-action-error' : undefined}>
          <legend>Actions (none ticked: all)</legend>
          {ACTIONS.map((a) => (
            <label key={a} className="check">
              <input type="checkbox" id={`search-action-${a}`} checked={actions.includes(a)} onChange={() => toggleAction(a)} />
              <span className={`badge badge-${a}`}>{a}</span>
            </label>
          ))}
          <FieldError id="search-action" error={shown('action')} />
        </fieldset>
        <Field
          id="search-metadata"
          label="Metadata contains (JSON object, optional)"
          hint={<>Events whose metadata holds these keys and values, e.g. {'{"device": "iPhone 14"}'}.</>}
          error={shown('metadata')}
        >
          <input
            id="search-metadata"
            className="code"
            autoComplete="off"
            spellCheck={false}
            value={metadata}
            {...fieldAria('search-metadata', true, shown('metadata'))}
            onChange={(e) => edit(setMetadata, 'metadata')(e.target.value)}
          />
        </Field>
        <ErrorBanner>{banner}</ErrorBanner>
        <SubmitButton busy={loading} label="Search" busyLabel="Searching…" />
      </form>

      <Announcement text={announce} />
      {page ? (
        <ResultsCard
          titleId="search-results-title"
          title={
            events.length
              ? `Page ${pageIndex + 1} · events ${firstRow}–${lastRow}`
              : pageIndex === 0
                ? 'No events'
                : `Page ${pageIndex + 1} · no more events`
          }
          loading={loading}
          className="results"
          headingRef={resultsRef}
          tools={
            <div className="downloads">
              {download ? (
                <>
                  <span role="status">
                    Downloading {download.format.toUpperCase()}… {formatBytes(download.bytes)}
                  </span>
                  <button type="button" className="secondary" onClick={() => exportAbort.current?.abort()}>
                    Cancel
                  </button>
                </>
              ) : (
                <>
                  <button type="button" className="secondary" onClick={() => startDownload('csv')} disabled={!events.length}>
                    Download CSV
                  </button>
                  <button type="button" className="secondary" onClick={() => startDownload('ndjson')} disabled={!events.length}>
                    Download NDJSON
                  </button>
                </>
              )}
            </div>
          }
        >
          {count ? <p className="count">{count}</p> : null}
          {events.length ? (
            <>
              <div className="order-row">
                <label htmlFor="search-order">Order</label>
                <select id="search-order" value={order} onChange={(e) => chooseOrder(e.target.value as Order)}>
                  {ORDERS.map((o) => (
                    <option key={o.id} value={o.id}>
                      {o.label}
                    </option>
                  ))}
                </select>
              </div>
              <p className="hint">
                {order === 'recorded'
                  ? 'The API returns events in the order they were recorded.'
                  : 'Sorted by when the users acted within this page only; the API pages in recorded order, so another page may hold earlier or later acts.'}{' '}
                Downloads have every match, in recorded order, times in UTC (RFC 3339).
              </p>
              {pager('top')}
              {narrow ? (
                <ol className="event-cards" aria-label={`Events of user ${query?.user_id}`}>
                  {events.map((ev) => (
                    <li key={ev.id} className="event-card">
                      <div className="event-card-head">
                        <span className={`badge badge-${ev.action}`}>{ev.action}</span>
                        <span className="num">Event {ev.id}</span>
                      </div>
                      <dl>
                        <dt>Acted at</dt>
                        <dd>
                          <Time iso={ev.event_action_timestamp} />
                        </dd>
                        <dt>Recorded at</dt>
                        <dd>
                          <Time iso={ev.recorded_at} />
                        </dd>
                        <dt>Metadata</dt>
                        <dd className="meta">
                          <MetadataCell value={ev.metadata} />
                        </dd>
                      </dl>
                    </li>
                  ))}
                </ol>
              ) : (
                <div className="table-wrap">
                  <table>
                    <caption className="visually-hidden">
                      Events of user {query?.user_id}, {ORDERS.find((o) => o.id === order)!.label}
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Id</th>
                        <th scope="col">Acted at</th>
                        <th scope="col">Recorded at</th>
                        <th scope="col">Action</th>
                        <th scope="col">Metadata</th>
                      </tr>
                    </thead>
                    <tbody>
                      {events.map((ev) => (
                        <tr key={ev.id}>
                          <td className="num">{ev.id}</td>
                          <td>
                            <Time iso={ev.event_action_timestamp} />
                          </td>
                          <td>
                            <Time iso={ev.recorded_at} />
                          </td>
                          <td>
                            <span className={`badge badge-${ev.action}`}>{ev.action}</span>
                          </td>
                          <td className="meta">
                            <MetadataCell value={ev.metadata} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          ) : (
            <p className="empty">
              {pageIndex === 0
                ? `No events of user ${query?.user_id} match${query?.action ? ` (action ${query.action})` : ''}.`
                : 'The previous page was the last one.'}
            </p>
          )}
          {downloadMsg ? (
            <p className="hint" role="status">
              {downloadMsg}
            </p>
          ) : null}
          {pager('bottom')}
        </ResultsCard>
      ) : loading ? (
        <p className="loading">Searching…</p>
      ) : null}
    </div>
  );
}

function MetadataCell({ value }: { value: unknown }) {
  const compact = JSON.stringify(value) ?? 'null';
  if (compact === '{}' || compact.length <= 40) return <code>{compact}</code>;
  return (
    <details>
      <summary>
        <code>{compact.slice(0, 37)}…</code>
      </summary>
      <pre className="code">{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}
