import { lazy, Suspense, useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import {
  ApiError,
  countingStale,
  countingStatus,
  topUsers,
  userCounts,
  type CountingStatus,
  type TopUser,
  type UserCounts,
} from '../api';
import { endOfThisMinute, formatAgo, formatDuration, formatLocal, hoursBefore, parseInputValue, toInputValue, toRfc3339 } from '../time';
import { rangeErrors, userIdError } from '../validate';
import { describedBy, ErrorBanner, Field } from './Field';

// The charting library is most of the page's weight: load it when a chart
// is first shown.
const CountsChart = lazy(() => import('./CountsChart').then((m) => ({ default: m.CountsChart })));

type FieldName = 'user_id' | 'from' | 'to' | 'limit';
type Errors = Partial<Record<FieldName, string | null>>;
const INPUT_ID: Record<FieldName, string> = {
  user_id: 'activity-user',
  from: 'activity-from',
  to: 'activity-to',
  limit: 'activity-top',
};

function defaultRange() {
  const to = endOfThisMinute();
  return { from: toInputValue(hoursBefore(to, 24 * 7)), to: toInputValue(to) };
}

const errorText = (err: unknown) => (err instanceof ApiError ? err.summary : (err as Error).message);

/** A user's counted activity per period and action, the top users of a
 * range, and when the counting job last ran. */
export function ActivityView({ active }: { active: boolean }) {
  const initial = useRef(defaultRange());
  const [userId, setUserId] = useState('');
  const [from, setFrom] = useState(initial.current.from);
  const [to, setTo] = useState(initial.current.to);
  const [rangeTouched, setRangeTouched] = useState(false);
  const [limit, setLimit] = useState('10');
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const [counts, setCounts] = useState<UserCounts | null>(null);
  const [countsError, setCountsError] = useState<string | null>(null);
  const [top, setTop] = useState<TopUser[] | null>(null);
  const [topError, setTopError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [status, setStatus] = useState<CountingStatus | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);
  const [statusLoading, setStatusLoading] = useState(false);
  const [statusAt, setStatusAt] = useState<Date | null>(null);

  const loadStatus = useCallback(async () => {
    setStatusLoading(true);
    try {
      setStatus(await countingStatus());
      setStatusAt(new Date());
      setStatusError(null);
    } catch (err) {
      setStatusError(errorText(err));
    } finally {
      setStatusLoading(false);
    }
  }, []);

  useEffect(() => {
    if (!active) return;
    if (!rangeTouched) {
      const r = defaultRange();
      setFrom(r.from);
      setTo(r.to);
    }
    void loadStatus();
  }, [active, rangeTouched, loadStatus]);

  // The first time the view is shown, list the top users of the last week.
  const shownOnce = useRef(false);
  useEffect(() => {
    if (!active || shownOnce.current) return;
    shownOnce.current = true;
    const r = defaultRange();
    const f = toRfc3339(parseInputValue(r.from)!);
    const t = toRfc3339(parseInputValue(r.to)!);
    topUsers(f, t, '10').then(
      (rows) => setTop((cur) => cur ?? rows),
      (err) => setTopError(errorText(err)),
    );
  }, [active]);

  const clientErrors: Errors = {
    user_id: userId.trim() === '' ? null : userIdError(userId),
    ...rangeErrors(from, to),
  };
  const shown = (f: FieldName) => (submitted ? clientErrors[f] : null) ?? serverErrors[f] ?? null;

  const applyError = (err: unknown, set: (s: string | null) => void) => {
    if (err instanceof ApiError && err.field && err.field in INPUT_ID) {
      setServerErrors((e) => ({ ...e, [err.field as string]: err.detail || err.title }));
      set(null);
    } else {
      set(errorText(err));
    }
  };

  async function show(u = userId) {
    setSubmitted(true);
    const errs: Errors = { user_id: u.trim() === '' ? null : userIdError(u), ...rangeErrors(from, to) };
    const first = (['user_id', 'from', 'to'] as FieldName[]).find((k) => errs[k]);
    if (first) {
      document.getElementById(INPUT_ID[first])?.focus();
      return;
    }
    const f = toRfc3339(parseInputValue(from)!);
    const t = toRfc3339(parseInputValue(to)!);
    setLoading(true);
    setServerErrors({});
    const jobs: Promise<void>[] = [
      topUsers(f, t, limit).then(
        (r) => {
          setTop(r);
          setTopError(null);
        },
        (err) => applyError(err, setTopError),
      ),
    ];
    if (u.trim()) {
      jobs.push(
        userCounts(u.trim(), f, t).then(
          (r) => {
            setCounts(r);
            setCountsError(null);
          },
          (err) => {
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
    setLoading(false);
    void loadStatus();
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    void show();
  }

  const pick = (id: number) => {
    setUserId(String(id));
    void show(String(id));
  };

  const rangeChange = (set: (v: string) => void, f: FieldName) => (v: string) => {
    set(v);
    setRangeTouched(true);
    if (serverErrors[f]) setServerErrors((e) => ({ ...e, [f]: null }));
  };

  return (
    <div className="view-body">
      <section className="card status" aria-labelledby="counting-title" aria-busy={statusLoading}>
        <div className="results-head">
          <h3 id="counting-title">Counting</h3>
          <button type="button" className="secondary" onClick={() => void loadStatus()} disabled={statusLoading}>
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
          <Field id="activity-from" label="Periods from" error={shown('from')}>
            <input
              id="activity-from"
              type="datetime-local"
              step={1}
              value={from}
              aria-invalid={shown('from') ? true : undefined}
              aria-describedby={describedBy('activity-from', undefined, shown('from'))}
              onChange={(e) => rangeChange(setFrom, 'from')(e.target.value)}
            />
          </Field>
          <Field id="activity-to" label="Periods to" error={shown('to')}>
            <input
              id="activity-to"
              type="datetime-local"
              step={1}
              value={to}
              aria-invalid={shown('to') ? true : undefined}
              aria-describedby={describedBy('activity-to', undefined, shown('to'))}
              onChange={(e) => rangeChange(setTo, 'to')(e.target.value)}
            />
          </Field>
          <Field id="activity-top" label="Top users" error={shown('limit')}>
            <select id="activity-top" value={limit} onChange={(e) => setLimit(e.target.value)}>
              {['5', '10', '25', '50'].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div className="actions">
          <button type="submit" disabled={loading}>
            {loading ? 'Loading…' : 'Show activity'}
          </button>
        </div>
      </form>

      {countsError ? <ErrorBanner>Could not load the user's counts: {countsError}</ErrorBanner> : null}
      {counts ? (
        <section className="card" aria-labelledby="chart-title">
          <h3 id="chart-title">User {counts.user_id}: events per counting period</h3>
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

      {topError ? <ErrorBanner>Could not load the top users: {topError}</ErrorBanner> : null}
      {top ? (
        <section className="card" aria-labelledby="top-title">
          <h3 id="top-title">Top users</h3>
          {top.length ? (
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
                  </tr>
                </thead>
                <tbody>
                  {top.map((u, i) => (
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
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p className="empty">No counted activity in this range.</p>
          )}
        </section>
      ) : null}
    </div>
  );
}

function CountingSummary({ status, at }: { status: CountingStatus; at: Date | null }) {
  const job = status.pg_cron?.job ?? null;
  const schedule = (
    <>
      {status.schedule ? (
        <>
          <dt>Schedule</dt>
          <dd>
            <code>{status.schedule}</code>
            {status.pg_cron ? ` (${status.pg_cron.timezone})` : ''}
            {job && !job.active ? (
              <>
                {' '}
                <span className="badge badge-bad">paused</span>
              </>
            ) : null}
            {status.expected_interval_seconds != null
              ? `, at most ${formatDuration(status.expected_interval_seconds)} between runs`
              : ''}
          </dd>
        </>
      ) : (
        <>
          <dt>Schedule</dt>
          <dd>
            {status.pg_cron
              ? 'no pg_cron job: counting runs only when called'
              : 'pg_cron is not installed: counting runs only when called'}
          </dd>
        </>
      )}
      {status.next_run_at ? (
        <>
          <dt>Next run</dt>
          <dd>
            <time dateTime={status.next_run_at} title={status.next_run_at}>
              {formatLocal(status.next_run_at)}
            </time>
          </dd>
        </>
      ) : null}
      {job?.last_run ? (
        <>
          <dt>Last pg_cron run</dt>
          <dd>
            <span className={`badge ${job.last_run.status === 'failed' ? 'badge-bad' : 'badge-ok'}`}>
              {job.last_run.status}
            </span>
            {job.last_run.started_at ? (
              <>
                {' '}
                <time dateTime={job.last_run.started_at} title={job.last_run.started_at}>
                  {formatLocal(job.last_run.started_at)}
                </time>
              </>
            ) : null}
          </dd>
        </>
      ) : null}
    </>
  );
  if (!status.last_run_at && !status.last_success_at && status.last_outcome == null) {
    return (
      <>
        <p className="empty">The counting job has not run yet.</p>
        <dl className="details compact">{schedule}</dl>
      </>
    );
  }
  const good = ['counted', 'empty'].includes(status.last_outcome ?? '');
  const stale = countingStale(status);
  return (
    <dl className="details compact">
      <dt>Last successful count</dt>
      <dd>
        {status.last_success_at ? (
          <>
            <time dateTime={status.last_success_at} title={status.last_success_at}>
              {formatLocal(status.last_success_at)}
            </time>
            {status.seconds_since_last_success != null ? (
              <>
                {' '}
                ({formatAgo(status.seconds_since_last_success)}
                {at ? `, as of ${formatLocal(at.toISOString()).slice(11)}` : ''})
              </>
            ) : null}
            {stale ? (
              <>
                {' '}
                <span className="badge badge-bad">stale</span>
              </>
            ) : null}
          </>
        ) : (
          'never'
        )}
      </dd>
      <dt>Last run</dt>
      <dd>
        {status.last_run_at ? (
          <>
            <time dateTime={status.last_run_at} title={status.last_run_at}>
              {formatLocal(status.last_run_at)}
            </time>{' '}
          </>
        ) : null}
        <span className={`badge ${good ? 'badge-ok' : 'badge-bad'}`}>{status.last_outcome ?? 'unknown'}</span>
      </dd>
      {status.last_error ? (
        <>
          <dt>Last error</dt>
          <dd className="field-error">{status.last_error}</dd>
        </>
      ) : null}
      {status.events_counted != null ? (
        <>
          <dt>Events counted</dt>
          <dd>{status.events_counted}</dd>
        </>
      ) : null}
      {status.position ? (
        <>
          <dt>Counted up to</dt>
          <dd>
            event {status.position.last_id}, period ending{' '}
            <time dateTime={status.position.last_period_end} title={status.position.last_period_end}>
              {formatLocal(status.position.last_period_end)}
            </time>
          </dd>
        </>
      ) : null}
      {schedule}
    </dl>
  );
}
