import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ACTIONS, ApiError, recordEvent, type StoredEvent } from '../api';
import { checkMetadata, sameJson } from '../json';
import { parseInputValue, timeZoneLabel, toInputValue, toRfc3339 } from '../time';
import { eventIdError, newUuid, userIdError } from '../validate';
import { Time, useZone, useZoneSwitch } from '../zone';
import { Announcement, ErrorBanner, Field, fieldAria, Options, SubmitButton, TIME_INPUT, UserIdField } from './Field';
import { EventDetails } from './EventDetails';
import { JsonEditor } from './JsonEditor';

type FieldName = 'user_id' | 'action' | 'event_action_timestamp' | 'metadata' | 'event_id';
type Errors = Partial<Record<FieldName, string>>;

const INPUT_ID: Record<FieldName, string> = {
  user_id: 'record-user',
  action: 'record-action',
  event_action_timestamp: 'record-time',
  metadata: 'record-metadata',
  event_id: 'record-event-id',
};

interface Props {
  onShowUser?: (userId: string) => void;
}

/** What was sent, to hold a duplicate's stored event against. */
interface Sent {
  action: string;
  at: Date;
  metadata: unknown;
}

/** The fields in which a duplicate's stored event differs from what was
 * sent this time: nothing of this request was stored. */
function differences(stored: StoredEvent, sent: Sent): string[] {
  const out: string[] = [];
  if (stored.action !== sent.action) out.push(`action (stored: ${stored.action}, sent: ${sent.action})`);
  if (new Date(stored.event_action_timestamp).getTime() !== sent.at.getTime()) out.push('when the user acted');
  if (!sameJson(stored.metadata, sent.metadata)) out.push('metadata');
  return out;
}

/** Record one event: the form checks what it can as you type, the server
 * checks the rest, and its error is shown next to the field it names. */
export function RecordView({ onShowUser }: Props) {
  const zone = useZone();
  const [userId, setUserId] = useState('');
  const [action, setAction] = useState('');
  const [when, setWhen] = useState(() => toInputValue(new Date(), zone));
  const [metadata, setMetadata] = useState('{}');
  const [eventId, setEventId] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [stored, setStored] = useState<StoredEvent | null>(null);
  const [sent, setSent] = useState<Sent | null>(null);
  const [newId, setNewId] = useState(false);
  const [announce, setAnnounce] = useState('');
  const resultHeading = useRef<HTMLHeadingElement>(null);
  // Set when an answer arrives: once it is drawn, focus goes to it.
  const focusResult = useRef(false);
  useEffect(() => {
    if (stored && focusResult.current) {
      focusResult.current = false;
      resultHeading.current?.focus();
    }
  }, [stored]);
  useZoneSwitch(zone, [[when, setWhen]]);

  const whenDate = parseInputValue(when, zone);
  const clientErrors: Errors = {};
  const uid = userIdError(userId);
  if (uid) clientErrors.user_id = uid;
  if (!action) clientErrors.action = 'Choose an action.';
  if (!whenDate) clientErrors.event_action_timestamp = 'Enter the date and time of the action.';
  const meta = checkMetadata(metadata);
  const eid = eventIdError(eventId);
  if (eid) clientErrors.event_id = eid;

  // Client errors show once the form was submitted (metadata's as you type);
  // a server error shows until its field is edited.
  const shown = (f: FieldName) => (submitted ? clientErrors[f] : undefined) ?? serverErrors[f] ?? null;

  const edit =
    <T,>(set: (v: T) => void, field: FieldName) =>
    (v: T) => {
      set(v);
      if (serverErrors[field]) setServerErrors((e) => ({ ...e, [field]: undefined }));
    };

  const focusField = (f: FieldName) => document.getElementById(INPUT_ID[f])?.focus();

  async function submit(e: FormEvent) {
    e.preventDefault();
    // The button stays enabled (and focused) while a request runs; a second
    // press then does nothing.
    if (busy) return;
    setSubmitted(true);
    setBanner(null);
    const order: FieldName[] = ['user_id', 'action', 'event_action_timestamp', 'metadata', 'event_id'];
    const first = order.find((f) => (f === 'metadata' ? !meta.ok : clientErrors[f]));
    if (first) {
      focusField(first);
      return;
    }
    // Serialised by hand so that user_id goes out exactly as typed.
    const parts = [
      `"user_id": ${userId.trim()}`,
      `"action": ${JSON.stringify(action)}`,
      `"event_action_timestamp": ${JSON.stringify(toRfc3339(whenDate!, zone))}`,
      `"metadata": ${metadata.trim() === '' ? '{}' : metadata.trim()}`,
    ];
    if (eventId.trim()) parts.push(`"event_id": ${JSON.stringify(eventId.trim())}`);
    setBusy(true);
    setStored(null);
    setNewId(false);
    setServerErrors({});
    setAnnounce('Recording…');
    const thisTime: Sent = { action, at: whenDate!, metadata: meta.ok ? meta.value : {} };
    try {
      const ev = await recordEvent(`{${parts.join(', ')}}`);
      setStored(ev);
      setSent(thisTime);
      setSubmitted(false);
      const diff = ev.status === 'duplicate' ? differences(ev, thisTime) : [];
      setAnnounce(
        ev.status !== 'duplicate'
          ? `Stored as event ${ev.id}.`
          : diff.length
            ? `Not stored: event ${ev.id} already has this event id, with a different ${diff.join(', ')}.`
            : `Already recorded: event ${ev.id} has this event id; nothing stored again.`,
      );
      // A stored event's id is spent: the next event gets a new one, so that
      // it is not taken for a retry of this one.
      if (eventId.trim() && ev.status !== 'duplicate') {
        setEventId(newUuid());
        setNewId(true);
      }
      focusResult.current = true;
    } catch (err) {
      setAnnounce('');
      if (err instanceof ApiError && err.field && err.field in INPUT_ID) {
        const f = err.field as FieldName;
        setServerErrors({ [f]: err.detail || err.title });
        requestAnimationFrame(() => focusField(f));
      } else if (err instanceof ApiError) {
        setBanner(err.summary + (err.field ? ` (field "${err.field}")` : ''));
      } else {
        setBanner(`Could not record the event: ${(err as Error).message}`);
      }
    } finally {
      setBusy(false);
    }
  }

  const timeHint = (
    <>
      YYYY-MM-DD HH:MM:SS, 24-hour, in {timeZoneLabel(whenDate ?? new Date(), zone)}.
      {whenDate ? (
        <>
          {' '}
          Sent as <code>{toRfc3339(whenDate, zone)}</code>.
        </>
      ) : null}
    </>
  );
  const diff = stored && sent && stored.status === 'duplicate' ? differences(stored, sent) : [];

  return (
    <div className="view-body">
      <form className="card form" onSubmit={submit} noValidate aria-busy={busy}>
        <div className="grid-2">
          <UserIdField id="record-user" error={shown('user_id')} value={userId} onChange={edit(setUserId, 'user_id')} />
          <Field id="record-action" label="Action" error={shown('action')}>
            <select
              id="record-action"
              value={action}
              {...fieldAria('record-action', undefined, shown('action'))}
              onChange={(e) => edit(setAction, 'action')(e.target.value)}
            >
              <option value="">Choose an action</option>
              <Options values={ACTIONS} />
            </select>
          </Field>
        </div>
        <Field id="record-time" label="When the user acted" hint={timeHint} error={shown('event_action_timestamp')}>
          <div className="inline">
            <input
              id="record-time"
              {...TIME_INPUT}
              value={when}
              {...fieldAria('record-time', timeHint, shown('event_action_timestamp'))}
              onChange={(e) => edit(setWhen, 'event_action_timestamp')(e.target.value)}
            />
            <button type="button" className="secondary" onClick={() => edit(setWhen, 'event_action_timestamp')(toInputValue(new Date(), zone))}>
              Now
            </button>
          </div>
        </Field>
        <JsonEditor
          id="record-metadata"
          label="Metadata (JSON object)"
          value={metadata}
          onChange={edit(setMetadata, 'metadata')}
          error={serverErrors.metadata}
        />
        <Field
          id="record-event-id"
          label="Event id (optional)"
          hint={
            newId
              ? 'A new id for the next event: the last one is spent.'
              : 'A UUID makes retries safe: the same id is stored once.'
          }
          error={shown('event_id')}
        >
          <div className="inline">
            <input
              id="record-event-id"
              className="code"
              autoComplete="off"
              spellCheck={false}
              value={eventId}
              {...fieldAria('record-event-id', true, shown('event_id'))}
              onChange={(e) => {
                setNewId(false);
                edit(setEventId, 'event_id')(e.target.value);
              }}
            />
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setNewId(false);
                edit(setEventId, 'event_id')(newUuid());
              }}
            >
              Generate
            </button>
          </div>
        </Field>
        <ErrorBanner>{banner}</ErrorBanner>
        <SubmitButton busy={busy} label="Record event" busyLabel="Recording…" />
      </form>
      <Announcement text={announce} />
      <div className="result-area">
        {stored ? (
          <section
            className={`card result${stored.status !== 'duplicate' ? '' : diff.length ? ' result-warn' : ' result-info'}`}
            aria-labelledby="record-result-title"
          >
            <h3 id="record-result-title" tabIndex={-1} ref={resultHeading}>
              {stored.status !== 'duplicate'
                ? `Stored as event ${stored.id}`
                : diff.length
                  ? `Not stored: event ${stored.id} already has this event id`
                  : `Already recorded: event ${stored.id} has this event id`}
            </h3>
            {stored.status === 'duplicate' ? (
              <p className="result-note">
                {diff.length ? (
                  <>
                    Nothing of this request was stored. The event stored earlier with this id differs in{' '}
                    {diff.join(', ')}. To record a new event, give it a new id ("Generate") or none.
                  </>
                ) : (
                  <>The same event was stored earlier; nothing was stored again. Below is the event as first stored.</>
                )}
              </p>
            ) : null}
            <EventDetails event={stored} />
            {onShowUser ? (
              <button type="button" className="secondary" onClick={() => onShowUser(String(stored.user_id))}>
                Show user {stored.user_id}'s events
              </button>
            ) : null}
            <p className="hint">
              Recorded at <Time iso={stored.recorded_at} />.
            </p>
          </section>
        ) : null}
      </div>
    </div>
  );
}
