import type { StoredEvent } from '../api';
import { Time } from '../zone';

/** The fields of one stored event, times in the chosen zone. */
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
        <Time iso={event.event_action_timestamp} />
      </dd>
      <dt>Recorded at</dt>
      <dd>
        <Time iso={event.recorded_at} />
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
