import type { StoredEvent } from '../api';
import { formatLocal } from '../time';

/** The fields of one stored event, times in local time with UTC on hover. */
export function EventDetails({ event }: { event: StoredEvent }) {
  return (
    <dl className="details">
      <dt>Id</dt>
      <dd>{event.id}</dd>
      <dt>User</dt>
      <dd>{event.user_id}</dd>
      <dt>Action</dt>
      <dd>
        <span className={`badge badge-${event.action}`}>{event.action}</span>
      </dd>
      <dt>Acted at</dt>
      <dd>
        <time dateTime={event.event_action_timestamp} title={event.event_action_timestamp}>
          {formatLocal(event.event_action_timestamp)}
        </time>
      </dd>
      <dt>Recorded at</dt>
      <dd>
        <time dateTime={event.recorded_at} title={event.recorded_at}>
          {formatLocal(event.recorded_at)}
        </time>
      </dd>
      {event.event_id ? (
        <>
          <dt>Event id</dt>
          <dd className="code">{event.event_id}</dd>
        </>
      ) : null}
      <dt>Metadata</dt>
      <dd>
        <pre className="code">{JSON.stringify(event.metadata, null, 2)}</pre>
      </dd>
    </dl>
  );
}
