import { useEffect, useRef, useState, type FormEvent } from 'react';
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
} from '../api';
import { endOfThisMinute, formatLocal, hoursBefore, parseInputValue, timeZoneLabel, toInputValue, toRfc3339 } from '../time';
import { optionalRangeErrors, rangeErrors, userIdError } from '../validate';
import { describedBy, ErrorBanner, Field } from './Field';

type FieldName = 'user_id' | 'from' | 'to' | 'action' | 'limit' | 'action_from' | 'action_to';
type Errors = Partial<Record<FieldName, string | null>>;

const INPUT_ID: Record<FieldName, string> = {
  user_id: 'search-user',
  from: 'search-from',
  to: 'search-to',
  action: 'search-action-created',
  limit: 'search-limit',
  action_from: 'search-acted-from',
  action_to: 'search-acted-to',
};

export const PAGE_SIZES = ['10', '25', '50', '100', '500'];

function defaultRange() {
  const to = endOfThisMinute();
  return { from: toInputValue(hoursBefore(to, 24)), to: toInputValue(to) };
}

export interface SearchRequest {
  userId: string;
  nonce: number;
}

interface Props {
  active: boolean;
  request?: SearchRequest | null;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Search a user's events by recorded time, page through them with the
 * API's cursor and download all of them as CSV or NDJSON. */
export function SearchView({ active, request }: Props) {
  const initial = useRef(defaultRange());
  const [userId, setUserId] = useState('');
  const [from, setFrom] = useState(initial.current.from);
  const [to, setTo] = useState(initial.current.to);
  const [rangeTouched, setRangeTouched] = useState(false);
  const [actions, setActions] = useState<Action[]>([]);
  const [limit, setLimit] = useState('25');
  const [actedFrom, setActedFrom] = useState('');
  const [actedOpen, setActedOpen] = useState(false);
  const [actedTo, setActedTo] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  // Cursor stack: the URL of every page seen so far, first page first.
  const [pages, setPages] = useState<string[]>([]);
  const [pageIndex, setPageIndex] = useState(0);
  const [page, setPage] = useState<EventPage | null>(null);
  const [query, setQuery] = useState<SearchParams | null>(null);
  const [download, setDownload] = useState<{ format: ExportFormat; bytes: number } | null>(null);
  const [downloadMsg, setDownloadMsg] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const exportAbort = useRef<AbortController | null>(null);
  const resultsRef = useRef<HTMLHeadingElement>(null);

  // An untouched range follows the clock: "the last 24 hours" each time the
  // view is shown.
  useEffect(() => {
    if (active && !rangeTouched) {
      const r = defaultRange();
      setFrom(r.from);
      setTo(r.to);
    }
  }, [active, rangeTouched]);

  const acted = optionalRangeErrors(actedFrom, actedTo);
  const clientErrors: Errors = {
    user_id: userIdError(userId),
    ...rangeErrors(from, to),
    action_from: acted.from,
    action_to: acted.to,
  };
  const shown = (f: FieldName) => (submitted ? clientErrors[f] : null) ?? serverErrors[f] ?? null;

  function paramsOf(u: string, f: string, t: string): SearchParams {
    return {
      user_id: u.trim(),
      from: toRfc3339(parseInputValue(f)!),
      to: toRfc3339(parseInputValue(t)!),
      action: actions.length ? ACTIONS.filter((a) => actions.includes(a)).join(',') : undefined,
      action_from: actedFrom.trim() ? toRfc3339(parseInputValue(actedFrom)!) : undefined,
      action_to: actedTo.trim() ? toRfc3339(parseInputValue(actedTo)!) : undefined,
      limit,
    };
  }

  /** Focuses a field, first opening the acted-at filter if it is in there. */
  function focusField(f: FieldName) {
    if (f === 'action_from' || f === 'action_to') {
      setActedOpen(true);
      setTimeout(() => document.getElementById(INPUT_ID[f])?.focus());
    } else {
      document.getElementById(INPUT_ID[f])?.focus();
    }
  }

  async function load(url: string, index: number, stack: string[], q: SearchParams | null) {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setLoading(true);
    setBanner(null);
    try {
      const p = await fetchEventPage(url, ctl.signal);
      const next = stack.slice(0, index + 1);
      setPages(next);
      setPageIndex(index);
      setPage(p);
      if (q) setQuery(q);
      setServerErrors({});
      if (index > 0 || stack.length > 1) resultsRef.current?.focus();
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return;
      if (err instanceof ApiError && err.field && err.field in INPUT_ID) {
        setServerErrors({ [err.field]: err.detail || err.title });
        setPage(null);
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

  function search(u = userId, f = from, t = to) {
    setSubmitted(true);
    const actedErrs = optionalRangeErrors(actedFrom, actedTo);
    const errs: Errors = {
      user_id: userIdError(u),
      ...rangeErrors(f, t),
      action_from: actedErrs.from,
      action_to: actedErrs.to,
    };
    const first = (['user_id', 'from', 'to', 'action_from', 'action_to'] as FieldName[]).find((k) => errs[k]);
    if (first) {
      focusField(first);
      return;
    }
    const q = paramsOf(u, f, t);
    const url = searchUrl(q);
    void load(url, 0, [url], q);
  }

  useEffect(() => {
    if (!request) return;
    setUserId(request.userId);
    setServerErrors({});
    let f = from;
    let t = to;
    if (!rangeTouched) {
      const r = defaultRange();
      f = r.from;
      t = r.to;
      setFrom(f);
      setTo(t);
    }
    search(request.userId, f, t);
    // Runs once per request (its nonce), with the state of that moment.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request?.nonce]);

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    search();
  }

  const next = () => {
    if (page?.next) void load(page.next, pageIndex + 1, [...pages.slice(0, pageIndex + 1), page.next], null);
  };
  const previous = () => {
    if (pageIndex > 0) void load(pages[pageIndex - 1], pageIndex - 1, pages, null);
  };

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
  const setRange = (set: (v: string) => void, field: FieldName) => (v: string) => {
    set(v);
    setRangeTouched(true);
    if (serverErrors[field]) setServerErrors((e) => ({ ...e, [field]: null }));
  };
  const resetRange = () => {
    const r = defaultRange();
    setFrom(r.from);
    setTo(r.to);
    setRangeTouched(false);
  };

  const events = page?.events ?? [];
  const size = Number(query?.limit ?? limit);
  const firstRow = pageIndex * size + 1;
  const zone = timeZoneLabel();

  return (
    <div className="view-body">
      <form className="card form" onSubmit={onSubmit} noValidate aria-busy={loading}>
        <div className="grid-search">
          <Field id="search-user" label="User id" error={shown('user_id')}>
            <input
              id="search-user"
              inputMode="numeric"
              autoComplete="off"
              value={userId}
              aria-invalid={shown('user_id') ? true : undefined}
              aria-describedby={describedBy('search-user', undefined, shown('user_id'))}
              onChange={(e) => {
                setUserId(e.target.value);
                if (serverErrors.user_id) setServerErrors((x) => ({ ...x, user_id: null }));
              }}
            />
          </Field>
          <Field id="search-from" label="Recorded from" error={shown('from')}>
            <input
              id="search-from"
              type="datetime-local"
              step={1}
              value={from}
              aria-invalid={shown('from') ? true : undefined}
              aria-describedby={describedBy('search-from', undefined, shown('from'))}
              onChange={(e) => setRange(setFrom, 'from')(e.target.value)}
            />
          </Field>
          <Field id="search-to" label="Recorded before" error={shown('to')}>
            <input
              id="search-to"
              type="datetime-local"
              step={1}
              value={to}
              aria-invalid={shown('to') ? true : undefined}
              aria-describedby={describedBy('search-to', undefined, shown('to'))}
              onChange={(e) => setRange(setTo, 'to')(e.target.value)}
            />
          </Field>
          <Field id="search-limit" label="Per page" error={shown('limit')}>
            <select id="search-limit" value={limit} onChange={(e) => setLimit(e.target.value)}>
              {PAGE_SIZES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <fieldset className={`checks${shown('action') ? ' invalid' : ''}`} aria-describedby={shown('action') ? 'search-action-error' : undefined}>
          <legend>Actions (none ticked: all)</legend>
          {ACTIONS.map((a) => (
            <label key={a} className="check">
              <input
                type="checkbox"
                id={`search-action-${a}`}
                checked={actions.includes(a)}
                onChange={() => toggleAction(a)}
              />
              <span className={`badge badge-${a}`}>{a}</span>
            </label>
          ))}
          {shown('action') ? (
            <p id="search-action-error" className="field-error">
              {shown('action')}
            </p>
          ) : null}
        </fieldset>
        <details
          className="more"
          open={actedOpen}
          onToggle={(e) => setActedOpen((e.target as HTMLDetailsElement).open)}
        >
          <summary>When the users acted (optional)</summary>
          <div className="grid-2">
            <Field id="search-acted-from" label="Acted from" error={shown('action_from')}>
              <input
                id="search-acted-from"
                type="datetime-local"
                step={1}
                value={actedFrom}
                aria-invalid={shown('action_from') ? true : undefined}
                aria-describedby={describedBy('search-acted-from', undefined, shown('action_from'))}
                onChange={(e) => {
                  setActedFrom(e.target.value);
                  if (serverErrors.action_from) setServerErrors((x) => ({ ...x, action_from: null }));
                }}
              />
            </Field>
            <Field id="search-acted-to" label="Acted before" error={shown('action_to')}>
              <input
                id="search-acted-to"
                type="datetime-local"
                step={1}
                value={actedTo}
                aria-invalid={shown('action_to') ? true : undefined}
                aria-describedby={describedBy('search-acted-to', undefined, shown('action_to'))}
                onChange={(e) => {
                  setActedTo(e.target.value);
                  if (serverErrors.action_to) setServerErrors((x) => ({ ...x, action_to: null }));
                }}
              />
            </Field>
          </div>
        </details>
        <p className="hint">
          Times are in your time zone, {zone}; the range covers when events were recorded.{' '}
          <button type="button" className="link-button" onClick={resetRange}>
            Last 24 hours
          </button>
        </p>
        <ErrorBanner>{banner}</ErrorBanner>
        <div className="actions">
          <button type="submit" disabled={loading}>
            {loading ? 'Searching…' : 'Search'}
          </button>
        </div>
      </form>

      {page ? (
        <section className="card results" aria-labelledby="search-results-title" aria-busy={loading}>
          <div className="results-head">
            <h3 id="search-results-title" tabIndex={-1} ref={resultsRef}>
              {events.length
                ? `Page ${pageIndex + 1} · events ${firstRow}–${firstRow + events.length - 1}`
                : pageIndex === 0
                  ? 'No events'
                  : `Page ${pageIndex + 1} · no more events`}
            </h3>
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
          </div>
          {downloadMsg ? (
            <p className="hint" role="status">
              {downloadMsg}
            </p>
          ) : null}
          {events.length ? (
            <div className="table-wrap">
              <table>
                <caption className="visually-hidden">
                  Events of user {query?.user_id}, oldest recorded first
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
                        <time dateTime={ev.event_action_timestamp} title={ev.event_action_timestamp}>
                          {formatLocal(ev.event_action_timestamp)}
                        </time>
                      </td>
                      <td>
                        <time dateTime={ev.recorded_at} title={ev.recorded_at}>
                          {formatLocal(ev.recorded_at)}
                        </time>
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
          ) : (
            <p className="empty">
              {pageIndex === 0
                ? `No events recorded for user ${query?.user_id} in this range${query?.action ? ` with action ${query.action}` : ''}.`
                : 'The previous page was the last one.'}
            </p>
          )}
          <nav className="pager" aria-label="Result pages">
            <button type="button" className="secondary" onClick={previous} disabled={loading || pageIndex === 0}>
              ← Previous
            </button>
            <span>Page {pageIndex + 1}</span>
            <button type="button" className="secondary" onClick={next} disabled={loading || !page.next}>
              Next →
            </button>
          </nav>
        </section>
      ) : loading ? (
        <p className="loading" role="status">
          Searching…
        </p>
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
