// CountingSummary.tsx: GET /api/counting/status for people: how fresh the
// counts are and when the next count runs, in words, with the job's
// details (cron expression, position, pg_cron's last run) folded away.
import { countingStale, type CountingStatus } from '../api';
import { everyInWords, formatAgo, formatClock } from '../time';
import { Time, useZone } from '../zone';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const num = (f: string) => (/^\d+$/.test(f) ? Number(f) : null);
const step = (f: string) => (f === '*' ? 1 : /^\*\/\d+$/.test(f) ? Number(f.slice(2)) : null);
const hhmm = (h: number, m: number) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;

/** A cron schedule in words for the regular shapes ("every 4 hours",
 * "every day at 03:00"); null for the others, which are shown as they are. */
export function scheduleInWords(cron: string): string | null {
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) return null;
  const [mi, h, dom, mon, dow] = f;
  const daily = dom === '*' && mon === '*' && dow === '*';
  if (daily && step(mi) != null && h === '*') {
    const n = step(mi)!;
    return n === 1 ? 'every minute' : `every ${n} minutes`;
  }
  if (daily && num(mi) != null && step(h) != null) {
    const n = step(h)!;
    return n === 1 ? 'every hour' : `every ${n} hours`;
  }
  if (num(mi) == null || num(h) == null) return null;
  const at = hhmm(num(h)!, num(mi)!);
  if (daily) return `every day at ${at}`;
  if (dom === '*' && mon === '*' && num(dow) != null && num(dow)! < 7) return `every ${DAYS[num(dow)!]} at ${at}`;
  if (num(dom) != null && mon === '*' && dow === '*') return `on day ${dom} of every month at ${at}`;
  if (num(dom) != null && num(mon) != null && dow === '*') return `once a year (day ${dom} of month ${mon}) at ${at}`;
  return null;
}

/** How fresh the counts are, in words; the job's details behind a
 * disclosure. */
export function CountingSummary({ status, at }: { status: CountingStatus; at: Date | null }) {
  const zone = useZone();
  const job = status.pg_cron?.job ?? null;
  const words = status.schedule ? scheduleInWords(status.schedule) : null;
  const cronZone = status.pg_cron?.timezone;

  const cadence = status.schedule ? (
    <p>
      {words
        ? `Counted ${words}${/ at /.test(words) && cronZone ? ` (${cronZone})` : ''}`
        : status.expected_interval_seconds != null
          ? `Counted on a schedule, at most every ${everyInWords(status.expected_interval_seconds)}`
          : 'Counted on a schedule'}
      {status.next_run_at ? (
        <>
          ; next at <Time iso={status.next_run_at} />
        </>
      ) : null}
      .
      {job && !job.active ? (
        <>
          {' '}
          <span className="badge badge-bad">paused</span> The job is paused: counts wait until it is resumed.
        </>
      ) : null}
    </p>
  ) : (
    <p>
      {status.pg_cron
        ? 'No pg_cron job: counting runs only when called.'
        : 'pg_cron is not installed: counting runs only when called.'}
    </p>
  );

  const technical = (
    <details className="technical">
      <summary>Technical details</summary>
      <dl className="details compact">
        {status.schedule ? (
          <>
            <dt>Schedule</dt>
            <dd>
              <code>{status.schedule}</code>
              {cronZone ? ` (pg_cron's zone: ${cronZone})` : ''}
              {status.expected_interval_seconds != null
                ? `, at most ${everyInWords(status.expected_interval_seconds)} between runs`
                : ''}
            </dd>
          </>
        ) : null}
        {status.last_run_at ? (
          <>
            <dt>Last run</dt>
            <dd>
              <Time iso={status.last_run_at} />
            </dd>
          </>
        ) : null}
        {status.position ? (
          <>
            <dt>Counted up to</dt>
            <dd>
              event {status.position.last_id}, period ending <Time iso={status.position.last_period_end} />
            </dd>
          </>
        ) : null}
        {status.events_counted != null ? (
          <>
            <dt>Events counted in the last run</dt>
            <dd>{status.events_counted}</dd>
          </>
        ) : null}
        {job?.last_run ? (
          <>
            <dt>Last pg_cron run</dt>
            <dd>
              {job.last_run.status}
              {job.last_run.started_at ? (
                <>
                  , <Time iso={job.last_run.started_at} />
                </>
              ) : null}
            </dd>
          </>
        ) : null}
      </dl>
    </details>
  );

  if (!status.last_run_at && !status.last_success_at && status.last_outcome == null) {
    return (
      <>
        <p className="empty">The counting job has not run yet.</p>
        {cadence}
        {technical}
      </>
    );
  }
  const good = ['counted', 'empty'].includes(status.last_outcome ?? '');
  const stale = countingStale(status);
  return (
    <>
      <p>
        {status.last_success_at ? (
          <>
            Last counted at <Time iso={status.last_success_at} />
            {status.seconds_since_last_success != null ? (
              <>
                {' '}
                ({formatAgo(status.seconds_since_last_success)}
                {at ? `, as of ${formatClock(at.toISOString(), zone)}` : ''})
              </>
            ) : null}
            .
          </>
        ) : (
          'Never counted successfully.'
        )}{' '}
        {stale ? (
          <>
            <span className="badge badge-bad">stale</span> Counts are older than twice the schedule's longest
            interval.{' '}
          </>
        ) : null}
        Last run: <span className={`badge ${good ? 'badge-ok' : 'badge-bad'}`}>{status.last_outcome ?? 'unknown'}</span>
      </p>
      {status.last_error ? <p className="field-error">The last run failed: {status.last_error}</p> : null}
      {cadence}
      {technical}
    </>
  );
}
