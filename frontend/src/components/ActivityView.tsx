import { lazy, Suspense, useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import {
  ACTIONS,
  activeUsers,
  apiCapabilities,
  ApiError,
  BUCKETS,
  countingStatus,
  topUsers,
  userActivity,
  userCounts,
  type ActiveUsers,
  type Bucket,
  type CountingStatus,
  type TimeBasis,
  type TopUser,
  type UserActivity,
  type UserCounts,
} from '../api';
import { hashFor, writeRoute } from '../route';
import { browserZoneName, endOfThisMinute, hoursBefore, parseInputValue, timeZoneLabel, toInputValue, toRfc3339, type ZoneMode } from '../time';
import { rangeErrors, userIdError } from '../validate';
import { useZone } from '../zone';
import { CountingSummary } from './CountingSummary';
import { Announcement, ErrorBanner, Field, FieldError, fieldAria, Options, RangeTimeField, SubmitButton, UserIdField } from './Field';
import { ResultsCard } from './ResultsCard';
import { useCapabilities } from './useCapabilities';
import { useRangeView } from './useRangeView';

// The charting library is most of the page's weight: load it when a chart
// is first shown.
const CountsChart = lazy(() => import('./CountsChart').then((m) => ({ default: m.CountsChart })));
const ActivityChart = lazy(() => import('./TimeCharts').then((m) => ({ default: m.ActivityChart })));
const ActiveUsersChart = lazy(() => import('./TimeCharts').then((m) => ({ default: m.ActiveUsersChart })));

/** A chart, said to be loading while its module is fetched. */
function LazyChart({ children }: { children: ReactNode }) {
  return <Suspense fallback={<p className="loading">Loading the chart…</p>}>{children}</Suspense>;
}

type FieldName = 'user_id' | 'from' | 'to' | 'limit' | 'bucket' | 'by' | 'action';
type Errors = Partial<Record<FieldName, string | null>>;
const INPUT_ID: Record<FieldName, string> = {
  user_id: 'activity-user',
  from: 'activity-from',
  to: 'activity-to',
  limit: 'activity-top',
  bucket: 'activity-bucket',
  by: 'activity-by-acted',
  action: 'activity-active-action',
};

/** The zone the API buckets in: the one times are shown in. */
const bucketZone = (zone: ZoneMode) => (zone === 'utc' ? 'UTC' : browserZoneName() || 'UTC');

interface Charting {
  bucket: Bucket;
  by: TimeBasis;
  action: string;
}
const TOP_SIZES = ['5', '10', '25', '50'];

const errorText = (err: unknown) => (err instanceof ApiError ? err.summary : (err as Error).message);
const utc = (d: Date) => d.toISOString().replace('.000Z', 'Z');

interface Props {
  active: boolean;
  /** The address's settings while this view is shown (route.ts). */
  params?: URLSearchParams | null;
}

/** A user's counted activity per period and action, the top users of a
 * range, and when the counting job last ran.  The settings are in the
 * address. */
export function ActivityView({ active, params }: Props) {
  const zone = useZone();
  const [userId, setUserId] = useState('');
  const [limit, setLimit] = useState('10');
  const [bucket, setBucket] = useState<Bucket>('day');
  const [by, setBy] = useState<TimeBasis>('acted');
  const [activeAction, setActiveAction] = useState('');
  const [overTime, setOverTime] = useState<UserActivity | null>(null);
  const [overTimeError, setOverTimeError] = useState<string | null>(null);
  const [activeUsersData, setActiveUsersData] = useState<ActiveUsers | null>(null);
  const [activeError, setActiveError] = useState<string | null>(null);
  const caps = useCapabilities(active);
  const charts = Boolean(caps?.activity || caps?.activeUsers);
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const [counts, setCounts] = useState<UserCounts | null>(null);
  const [countsError, setCountsError] = useState<string | null>(null);
  const [top, setTop] = useState<{ rows: TopUser[]; from: string; to: string } | null>(null);
  const [topError, setTopError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [status, setStatus] = useState<CountingStatus | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);
  const [statusLoading, setStatusLoading] = useState(false);
  const [statusAt, setStatusAt] = useState<Date | null>(null);
  const [announce, setAnnounce] = useState('');
  const run = useRef(0);
  // Bumped when answers arrive: once they are drawn, focus goes to the
  // first one's heading (which also scrolls it into view on a phone).
  const [focusSeq, setFocusSeq] = useState(0);
  useEffect(() => {
    if (focusSeq) document.querySelector<HTMLElement>('#view-activity .results-first')?.focus();
  }, [focusSeq]);

  const loadStatus = useCallback(async () => {
    setStatusLoading(true);
    try {
      setStatus(await countingStatus());
      setStatusAt(new Date());
      setStatusError(null);
    } catch (err) {
      setStatus(null);
      setStatusError(errorText(err));
    } finally {
      setStatusLoading(false);
    }
  }, []);

  // The range: an untouched one is the last week each time the view is
  // shown, and the counting status is asked for again.
  const range = useRangeView('activity', active, zone, 24 * 7, loadStatus);
  const { from, to } = range;

  // The first time the view is shown without settings in the address, list
  // the top users of the last week.
  const shownOnce = useRef(false);
  useEffect(() => {
    if (!active || shownOnce.current) return;
    shownOnce.current = true;
    if (params?.get('from') || params?.get('user')) return;
    const end = endOfThisMinute();
    const f = utc(hoursBefore(end, 24 * 7));
    const t = utc(end);
    const mine = run.current;
    topUsers(f, t, '10').then(
      (rows) => {
        if (run.current === mine) setTop({ rows, from: f, to: t });
      },
      (err) => {
        if (run.current === mine) setTopError(errorText(err));
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [active]);

  const clientErrors: Errors = {
    user_id: userId.trim() === '' ? null : userIdError(userId),
    ...rangeErrors(from, to, zone),
  };
  const shown = (f: FieldName) => (submitted ? clientErrors[f] : null) ?? serverErrors[f] ?? null;

  const applyError = (err: unknown, set: (s: string | null) => void) => {
    if (err instanceof ApiError && err.field && err.field in INPUT_ID) {
      setServerErrors((e) => ({ ...e, [err.field as string]: err.detail || err.title }));
      set(null);
      requestAnimationFrame(() => document.getElementById(INPUT_ID[err.field as FieldName])?.focus());
    } else {
      set(errorText(err));
    }
  };

  /** Asks for a user's counts and the top users of [f, t) (RFC 3339). */
  async function fetchAll(u: string, f: string, t: string, lim: string, c: Charting, history: 'push' | null) {
    const mine = ++run.current;
    setLoading(true);
    setServerErrors({});
    setAnnounce('Loading activity…');
    const hash = hashFor('activity', {
      user: u.trim(),
      from: utc(new Date(f)),
      to: utc(new Date(t)),
      top: lim === '10' ? undefined : lim,
      bucket: c.bucket === 'day' ? undefined : c.bucket,
      by: c.by === 'acted' ? undefined : c.by,
      active_action: c.action || undefined,
    });
    range.lastHash.current = hash;
    if (history) writeRoute(hash, history);
    const said: string[] = [];
    /** One request of this run: its answer, or its error, is shown unless
     * a newer run has started. */
    const job = <T,>(request: Promise<T>, show: (r: T | null) => void, showError: (e: string | null) => void, say?: (r: T) => void) =>
      request.then(
        (r) => {
          if (run.current !== mine) return;
          show(r);
          showError(null);
          say?.(r);
        },
        (err) => {
          if (run.current !== mine) return;
          show(null);
          applyError(err, showError);
        },
      );
    const jobs: Promise<void>[] = [
      job(
        topUsers(f, t, lim),
        (rows) => setTop(rows && { rows, from: f, to: t }),
        setTopError,
        (rows) => said.push(rows.length ? `${rows.length} top users.` : 'No counted activity in this range.'),
      ),
    ];
    const can = await apiCapabilities();
    const tz = bucketZone(zone);
    if (can.activity && u.trim()) {
      jobs.push(job(userActivity(u.trim(), { from: f, to: t, bucket: c.bucket, by: c.by, tz }), setOverTime, setOverTimeError));
    } else {
      setOverTime(null);
      setOverTimeError(null);
    }
    if (can.activeUsers) {
      jobs.push(
        job(activeUsers({ from: f, to: t, bucket: c.bucket, action: c.action || undefined, tz }), setActiveUsersData, setActiveError, (r) =>
          said.push(`Active users per ${r.bucket}: at most ${r.buckets.reduce((m, b) => Math.max(m, b.users), 0)}.`),
        ),
      );
    }
    if (u.trim()) {
      jobs.push(
        job(userCounts(u.trim(), f, t), setCounts, setCountsError, (r) =>
          said.unshift(`User ${r.user_id}: ${r.total.event_count} events in ${r.periods.length} counting periods.`),
        ),
      );
    } else {
      setCounts(null);
      setCountsError(null);
    }
    await Promise.all(jobs);
    if (run.current !== mine) return;
    setLoading(false);
    setAnnounce(said.join(' '));
    setFocusSeq((n) => n + 1);
    void loadStatus();
  }

  function show(u = userId) {
    setSubmitted(true);
    const errs: Errors = { user_id: u.trim() === '' ? null : userIdError(u), ...rangeErrors(from, to, zone) };
    const first = (['user_id', 'from', 'to'] as FieldName[]).find((k) => errs[k]);
    if (first) {
      document.getElementById(INPUT_ID[first])?.focus();
      return;
    }
    void fetchAll(
      u,
      toRfc3339(parseInputValue(from, zone)!, zone),
      toRfc3339(parseInputValue(to, zone)!, zone),
      limit,
      { bucket, by, action: activeAction },
      'push',
    );
  }

  // Settings in the address (a reload, a shared link, Back): fill the form
  // from them and show them.
  const paramsKey = params?.toString() ?? '';
  useEffect(() => {
    if (!params || !params.get('from') || !params.get('to')) return;
    if (range.showsAlready(params)) return;
    const f = new Date(params.get('from')!);
    const t = new Date(params.get('to')!);
    if (Number.isNaN(f.getTime()) || Number.isNaN(t.getTime())) return;
    const u = params.get('user') ?? '';
    const lim = TOP_SIZES.includes(params.get('top') ?? '') ? params.get('top')! : '10';
    const c: Charting = {
      bucket: (BUCKETS as readonly string[]).includes(params.get('bucket') ?? '') ? (params.get('bucket') as Bucket) : 'day',
      by: params.get('by') === 'recorded' ? 'recorded' : 'acted',
      action: (ACTIONS as readonly string[]).includes(params.get('active_action') ?? '') ? params.get('active_action')! : '',
    };
    setBucket(c.bucket);
    setBy(c.by);
    setActiveAction(c.action);
    setUserId(u);
    range.setFrom(toInputValue(f, zone));
    range.setTo(toInputValue(t, zone));
    setLimit(lim);
    range.setTouched(true);
    setSubmitted(false);
    void fetchAll(u, toRfc3339(f, 'utc'), toRfc3339(t, 'utc'), lim, c, null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [paramsKey]);

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!loading) show();
  }

  const pick = (id: number) => {
    setUserId(String(id));
    show(String(id));
  };

  const rangeChange = (set: (v: string) => void, f: FieldName) => (v: string) => {
    set(v);
    range.setTouched(true);
    if (serverErrors[f]) setServerErrors((e) => ({ ...e, [f]: null }));
  };

  const timeField = (f: FieldName, label: string, value: string, set: (v: string) => void) => (
    <RangeTimeField
      id={INPUT_ID[f]}
      label={label}
      formatId="activity-time-format"
      error={shown(f)}
      value={value}
      onChange={rangeChange(set, f)}
    />
  );

  return (
    <div className="view-body">
      <section className="card status" aria-labelledby="counting-title" aria-busy={statusLoading}>
        <div className="results-head">
          <h3 id="counting-title">Counting</h3>
          <button type="button" className="secondary" onClick={() => void loadStatus()} aria-disabled={statusLoading || undefined}>
            {statusLoading ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
        {statusError ? (
          <ErrorBanner>Counting status unavailable: {statusError}</ErrorBanner>
        ) : status ? (
          <CountingSummary status={status} at={statusAt} />
        ) : (
          <p className="loading">Loading…</p>
        )}
      </section>

      <form className="card form" onSubmit={onSubmit} noValidate aria-busy={loading}>
        <div className="grid-search">
          <UserIdField
            id="activity-user"
            hint="Empty: top users only"
            error={shown('user_id')}
            value={userId}
            onChange={(v) => {
              setUserId(v);
              if (serverErrors.user_id) setServerErrors((x) => ({ ...x, user_id: null }));
            }}
          />
          {timeField('from', 'Periods from', from, range.setFrom)}
          {timeField('to', 'Periods to', to, range.setTo)}
          <Field id="activity-top" label="Top users" error={shown('limit')}>
            <select id="activity-top" value={limit} onChange={(e) => setLimit(e.target.value)}>
              <Options values={TOP_SIZES} />
            </select>
          </Field>
        </div>
        {charts ? (
          <fieldset className="range over-time">
            <legend>Over time</legend>
            <div className="grid-over-time">
              <Field id="activity-bucket" label="Buckets" error={shown('bucket')}>
                <select
                  id="activity-bucket"
                  value={bucket}
                  {...fieldAria('activity-bucket', undefined, shown('bucket'))}
                  onChange={(e) => {
                    setBucket(e.target.value as Bucket);
                    if (serverErrors.bucket) setServerErrors((x) => ({ ...x, bucket: null }));
                  }}
                >
                  {BUCKETS.map((b) => (
                    <option key={b} value={b}>
                      {b === 'hour' ? 'hours' : b === 'day' ? 'days' : b === 'week' ? 'weeks (from Monday)' : 'months'}
                    </option>
                  ))}
                </select>
              </Field>
              {caps?.activity ? (
                <fieldset className="choice" aria-describedby={shown('by') ? 'activity-by-error' : undefined}>
                  <legend>A user's events by the time</legend>
                  <label className="check">
                    <input
                      type="radio"
                      id="activity-by-acted"
                      name="activity-by"
                      checked={by === 'acted'}
                      onChange={() => setBy('acted')}
                    />
                    the users acted
                  </label>
                  <label className="check">
                    <input type="radio" name="activity-by" checked={by === 'recorded'} onChange={() => setBy('recorded')} />
                    they were recorded
                  </label>
                  <FieldError id="activity-by" error={shown('by')} />
                </fieldset>
              ) : null}
              {caps?.activeUsers ? (
                <Field id="activity-active-action" label="Active users: with the action" error={shown('action')}>
                  <select
                    id="activity-active-action"
                    value={activeAction}
                    {...fieldAria('activity-active-action', undefined, shown('action'))}
                    onChange={(e) => {
                      setActiveAction(e.target.value);
                      if (serverErrors.action) setServerErrors((x) => ({ ...x, action: null }));
                    }}
                  >
                    <option value="">any action</option>
                    <Options values={ACTIONS} />
                  </select>
                </Field>
              ) : null}
            </div>
            <p className="hint">
              Buckets are hours, days, weeks or months of {bucketZone(zone)}, the zone times are shown in; a day there
              may have 23 or 25 hours.
            </p>
          </fieldset>
        ) : null}
        <p id="activity-time-format" className="hint">
          Times as YYYY-MM-DD HH:MM[:SS], 24-hour, in {timeZoneLabel(new Date(), zone)}. Counts are kept per counting
          period: the range takes the periods that end inside it.
        </p>
        <SubmitButton busy={loading} label="Show activity" busyLabel="Loading…" />
      </form>

      <Announcement text={announce} />
      {countsError ? <ErrorBanner>Could not load the user's counts: {countsError}</ErrorBanner> : null}
      {counts ? (
        <ResultsCard
          titleId="chart-title"
          title={<>User {counts.user_id}: events per counting period</>}
          loading={loading}
          headingClass="results-first"
        >
          {counts.periods.length ? (
            <>
              <p className="totals">
                {counts.total.event_count} events: {counts.total.created} created, {counts.total.updated} updated,{' '}
                {counts.total.deleted} deleted, {counts.total.viewed} viewed
              </p>
              <LazyChart>
                <CountsChart periods={counts.periods} />
              </LazyChart>
            </>
          ) : (
            <p className="empty">
              No counted activity for user {counts.user_id} in this range. Events are counted when the counting job
              runs; those recorded since its last run appear after the next one.
            </p>
          )}
        </ResultsCard>
      ) : null}

      {overTimeError ? <ErrorBanner>Could not load the user's activity over time: {overTimeError}</ErrorBanner> : null}
      {overTime ? (
        <ResultsCard
          titleId="over-time-title"
          title={<>User {overTime.userId}: activity per {overTime.bucket}</>}
          loading={loading}
        >
          <LazyChart>
            <ActivityChart data={overTime} />
          </LazyChart>
        </ResultsCard>
      ) : null}

      {activeError ? <ErrorBanner>Could not load the active users: {activeError}</ErrorBanner> : null}
      {activeUsersData ? (
        <ResultsCard
          titleId="active-title"
          title={<>Active users per {activeUsersData.bucket}</>}
          loading={loading}
          headingClass={counts ? undefined : 'results-first'}
        >
          <LazyChart>
            <ActiveUsersChart data={activeUsersData} />
          </LazyChart>
        </ResultsCard>
      ) : null}

      {topError ? <ErrorBanner>Could not load the top users: {topError}</ErrorBanner> : null}
      {top ? (
        <ResultsCard
          titleId="top-title"
          title="Top users"
          loading={loading}
          headingClass={counts || activeUsersData ? undefined : 'results-first'}
        >
          {top.rows.length ? (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">User</th>
                    <th scope="col" className="num">
                      Events
                    </th>
                    {ACTIONS.map((a) => (
                      <th key={a} scope="col" className="num">
                        {a[0].toUpperCase() + a.slice(1)}
                      </th>
                    ))}
                    <th scope="col">Search</th>
                  </tr>
                </thead>
                <tbody>
                  {top.rows.map((u, i) => (
                    <tr key={u.user_id}>
                      <td>{i + 1}</td>
                      <td>
                        <button type="button" className="link-button" onClick={() => pick(u.user_id)}>
                          User {u.user_id}
                        </button>
                      </td>
                      <td className="num">{u.event_count}</td>
                      {ACTIONS.map((a) => (
                        <td key={a} className="num">
                          {u[a]}
                        </td>
                      ))}
                      <td>
                        <a
                          href={hashFor('search', {
                            user: String(u.user_id),
                            from: utc(new Date(top.from)),
                            to: utc(new Date(top.to)),
                          })}
                        >
                          Events<span className="visually-hidden"> of user {u.user_id}</span>
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p className="empty">No counted activity in this range.</p>
          )}
          <p className="hint">"User N" charts that user here; "Events" lists the user's events recorded in this range.</p>
        </ResultsCard>
      ) : null}
    </div>
  );
}
