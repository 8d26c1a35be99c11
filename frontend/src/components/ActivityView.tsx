import { lazy, Suspense, useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
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
import { useZone, useZoneSwitch } from '../zone';
import { CountingSummary } from './CountingSummary';
import { describedBy, ErrorBanner, Field, TIME_INPUT } from './Field';
import { useCapabilities } from './useCapabilities';

// The charting library is most of the page's weight: load it when a chart
// is first shown.
const CountsChart = lazy(() => import('./CountsChart').then((m) => ({ default: m.CountsChart })));
const ActivityChart = lazy(() => import('./TimeCharts').then((m) => ({ default: m.ActivityChart })));
const ActiveUsersChart = lazy(() => import('./TimeCharts').then((m) => ({ default: m.ActiveUsersChart })));

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

function defaultRange(zone: ZoneMode) {
  const to = endOfThisMinute();
  return { from: toInputValue(hoursBefore(to, 24 * 7), zone), to: toInputValue(to, zone) };
}

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
  const initial = useRef(defaultRange(zone));
  const [userId, setUserId] = useState('');
  const [from, setFrom] = useState(initial.current.from);
  const [to, setTo] = useState(initial.current.to);
  const [rangeTouched, setRangeTouched] = useState(false);
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
  const lastHash = useRef<string | null>(null);
  const run = useRef(0);
  // Bumped when answers arrive: once they are drawn, focus goes to the
  // first one's heading (which also scrolls it into view on a phone).
  const [focusSeq, setFocusSeq] = useState(0);
  useEffect(() => {
    if (focusSeq) document.querySelector<HTMLElement>('#view-activity .results-first')?.focus();
  }, [focusSeq]);

  useZoneSwitch(zone, [
    [from, setFrom],
    [to, setTo],
  ]);

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

  useEffect(() => {
    if (!active) return;
    if (!rangeTouched) {
      const r = defaultRange(zone);
      setFrom(r.from);
      setTo(r.to);
    }
    if (lastHash.current && window.location.hash === '#activity') writeRoute(lastHash.current, 'replace');
    void loadStatus();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [active, rangeTouched, loadStatus]);

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
    lastHash.current = hash;
    if (history) writeRoute(hash, history);
    const said: string[] = [];
    const jobs: Promise<void>[] = [
      topUsers(f, t, lim).then(
        (rows) => {
          if (run.current !== mine) return;
          setTop({ rows, from: f, to: t });
          setTopError(null);
          said.push(rows.length ? `${rows.length} top users.` : 'No counted activity in this range.');
        },
        (err) => {
          if (run.current !== mine) return;
          setTop(null);
          applyError(err, setTopError);
        },
      ),
    ];
    const can = await apiCapabilities();
    const tz = bucketZone(zone);
    if (can.activity && u.trim()) {
      jobs.push(
        userActivity(u.trim(), { from: f, to: t, bucket: c.bucket, by: c.by, tz }).then(
          (r) => {
            if (run.current !== mine) return;
            setOverTime(r);
            setOverTimeError(null);
          },
          (err) => {
            if (run.current !== mine) return;
            setOverTime(null);
            applyError(err, setOverTimeError);
          },
        ),
      );
    } else {
      setOverTime(null);
      setOverTimeError(null);
    }
    if (can.activeUsers) {
      jobs.push(
        activeUsers({ from: f, to: t, bucket: c.bucket, action: c.action || undefined, tz }).then(
          (r) => {
            if (run.current !== mine) return;
            setActiveUsersData(r);
            setActiveError(null);
            said.push(`Active users per ${r.bucket}: at most ${r.buckets.reduce((m, b) => Math.max(m, b.users), 0)}.`);
          },
          (err) => {
            if (run.current !== mine) return;
            setActiveUsersData(null);
            applyError(err, setActiveError);
          },
        ),
      );
    }
    if (u.trim()) {
      jobs.push(
        userCounts(u.trim(), f, t).then(
          (r) => {
            if (run.current !== mine) return;
            setCounts(r);
            setCountsError(null);
            said.unshift(`User ${r.user_id}: ${r.total.event_count} events in ${r.periods.length} counting periods.`);
          },
          (err) => {
            if (run.current !== mine) return;
            setCounts(null);
            applyError(err, setCountsError);
          },
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
    const current = lastHash.current ? lastHash.current.slice(lastHash.current.indexOf('?') + 1) : null;
    if (current !== null && new URLSearchParams(current).toString() === paramsKey) return;
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
    setFrom(toInputValue(f, zone));
    setTo(toInputValue(t, zone));
    setLimit(lim);
    setRangeTouched(true);
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
    setRangeTouched(true);
    if (serverErrors[f]) setServerErrors((e) => ({ ...e, [f]: null }));
  };

  const timeField = (id: string, label: string, f: FieldName, value: string, set: (v: string) => void) => (
    <Field id={id} label={label} error={shown(f)}>
      <input
        id={id}
        {...TIME_INPUT}
        value={value}
        aria-invalid={shown(f) ? true : undefined}
        aria-describedby={['activity-time-format', shown(f) ? `${id}-error` : ''].filter(Boolean).join(' ')}
        onChange={(e) => rangeChange(set, f)(e.target.value)}
      />
    </Field>
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
          <Field id="activity-user" label="User id" hint="Empty: top users only" error={shown('user_id')}>
            <input
              id="activity-user"
              inputMode="numeric"
              autoComplete="off"
              value={userId}
              aria-invalid={shown('user_id') ? true : undefined}
              aria-describedby={describedBy('activity-user', true, shown('user_id'))}
              onChange={(e) => {
                setUserId(e.target.value);
                if (serverErrors.user_id) setServerErrors((x) => ({ ...x, user_id: null }));
              }}
            />
          </Field>
          {timeField('activity-from', 'Periods from', 'from', from, setFrom)}
          {timeField('activity-to', 'Periods to', 'to', to, setTo)}
          <Field id="activity-top" label="Top users" error={shown('limit')}>
            <select id="activity-top" value={limit} onChange={(e) => setLimit(e.target.value)}>
              {TOP_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
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
                  aria-invalid={shown('bucket') ? true : undefined}
                  aria-describedby={describedBy('activity-bucket', undefined, shown('bucket'))}
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
                  {shown('by') ? (
                    <p id="activity-by-error" className="field-error">
                      {shown('by')}
                    </p>
                  ) : null}
                </fieldset>
              ) : null}
              {caps?.activeUsers ? (
                <Field id="activity-active-action" label="Active users: with the action" error={shown('action')}>
                  <select
                    id="activity-active-action"
                    value={activeAction}
                    aria-invalid={shown('action') ? true : undefined}
                    aria-describedby={describedBy('activity-active-action', undefined, shown('action'))}
                    onChange={(e) => {
                      setActiveAction(e.target.value);
                      if (serverErrors.action) setServerErrors((x) => ({ ...x, action: null }));
                    }}
                  >
                    <option value="">any action</option>
                    {ACTIONS.map((a) => (
                      <option key={a} value={a}>
                        {a}
                      </option>
                    ))}
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
        <div className="actions">
          <button type="submit" aria-disabled={loading || undefined}>
            {loading ? 'Loading…' : 'Show activity'}
          </button>
        </div>
      </form>

      <p className="visually-hidden" role="status">
        {announce}
      </p>
      {countsError ? <ErrorBanner>Could not load the user's counts: {countsError}</ErrorBanner> : null}
      {counts ? (
        <section className={`card${loading ? ' stale' : ''}`} aria-labelledby="chart-title" aria-busy={loading}>
          <div className="results-head">
            <h3 id="chart-title" className="results-first" tabIndex={-1}>
              User {counts.user_id}: events per counting period
            </h3>
            {loading ? <span className="stale-note">Updating…</span> : null}
          </div>
          {counts.periods.length ? (
            <>
              <p className="totals">
                {counts.total.event_count} events: {counts.total.created} created, {counts.total.updated} updated,{' '}
                {counts.total.deleted} deleted, {counts.total.viewed} viewed
              </p>
              <Suspense fallback={<p className="loading">Loading the chart…</p>}>
                <CountsChart periods={counts.periods} />
              </Suspense>
            </>
          ) : (
            <p className="empty">
              No counted activity for user {counts.user_id} in this range. Events are counted when the counting job
              runs; those recorded since its last run appear after the next one.
            </p>
          )}
        </section>
      ) : null}

      {overTimeError ? <ErrorBanner>Could not load the user's activity over time: {overTimeError}</ErrorBanner> : null}
      {overTime ? (
        <section className={`card${loading ? ' stale' : ''}`} aria-labelledby="over-time-title" aria-busy={loading}>
          <div className="results-head">
            <h3 id="over-time-title" tabIndex={-1}>
              User {overTime.userId}: activity per {overTime.bucket}
            </h3>
            {loading ? <span className="stale-note">Updating…</span> : null}
          </div>
          <Suspense fallback={<p className="loading">Loading the chart…</p>}>
            <ActivityChart data={overTime} />
          </Suspense>
        </section>
      ) : null}

      {activeError ? <ErrorBanner>Could not load the active users: {activeError}</ErrorBanner> : null}
      {activeUsersData ? (
        <section className={`card${loading ? ' stale' : ''}`} aria-labelledby="active-title" aria-busy={loading}>
          <div className="results-head">
            <h3 id="active-title" className={counts ? undefined : 'results-first'} tabIndex={-1}>
              Active users per {activeUsersData.bucket}
            </h3>
            {loading ? <span className="stale-note">Updating…</span> : null}
          </div>
          <Suspense fallback={<p className="loading">Loading the chart…</p>}>
            <ActiveUsersChart data={activeUsersData} />
          </Suspense>
        </section>
      ) : null}

      {topError ? <ErrorBanner>Could not load the top users: {topError}</ErrorBanner> : null}
      {top ? (
        <section className={`card${loading ? ' stale' : ''}`} aria-labelledby="top-title" aria-busy={loading}>
          <div className="results-head">
            <h3 id="top-title" className={counts || activeUsersData ? undefined : 'results-first'} tabIndex={-1}>
              Top users
            </h3>
            {loading ? <span className="stale-note">Updating…</span> : null}
          </div>
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
                    <th scope="col" className="num">
                      Created
                    </th>
                    <th scope="col" className="num">
                      Updated
                    </th>
                    <th scope="col" className="num">
                      Deleted
                    </th>
                    <th scope="col" className="num">
                      Viewed
                    </th>
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
                      <td className="num">{u.created}</td>
                      <td className="num">{u.updated}</td>
                      <td className="num">{u.deleted}</td>
                      <td className="num">{u.viewed}</td>
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
        </section>
      ) : null}
    </div>
  );
}
