import { useState, type FormEvent } from 'react';
import { ACTIONS, ApiError, recordEvent, type StoredEvent } from '../api';
import { checkMetadata } from '../json';
import { formatLocal, parseInputValue, timeZoneLabel, toInputValue, toRfc3339 } from '../time';
import { eventIdError, newUuid, userIdError } from '../validate';
import { describedBy, ErrorBanner, Field } from './Field';
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

/** Record one event: the form checks what it can as you type, the server
 * checks the rest, and its error is shown next to the field it names. */
export function RecordView({ onShowUser }: Props) {
  const [userId, setUserId] = useState('');
  const [action, setAction] = useState('');
  const [when, setWhen] = useState(() => toInputValue(new Date()));
  const [metadata, setMetadata] = useState('{}');
  const [eventId, setEventId] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [stored, setStored] = useState<StoredEvent | null>(null);

  const whenDate = parseInputValue(when);
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
      `"event_action_timestamp": ${JSON.stringify(toRfc3339(whenDate!))}`,
      `"metadata": ${metadata.trim() === '' ? '{}' : metadata.trim()}`,
    ];
    if (eventId.trim()) parts.push(`"event_id": ${JSON.stringify(eventId.trim())}`);
    setBusy(true);
    setStored(null);
    setServerErrors({});
    try {
      const ev = await recordEvent(`{${parts.join(', ')}}`);
      setStored(ev);
      setSubmitted(false);
    } catch (err) {
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

  const zone = timeZoneLabel(whenDate ?? new Date());
  const timeHint = (
    <>
      Your time zone: {zone}.{whenDate ? <> Sent as <code>{toRfc3339(whenDate)}</code>.</> : null}
    </>
  );

  return (
    <div className="view-body">
      <form className="card form" onSubmit={submit} noValidate aria-busy={busy}>
        <div className="grid-2">
          <Field id="record-user" label="User id" error={shown('user_id')}>
            <input
              id="record-user"
              inputMode="numeric"
              autoComplete="off"
              value={userId}
              aria-invalid={shown('user_id') ? true : undefined}
              aria-describedby={describedBy('record-user', undefined, shown('user_id'))}
              onChange={(e) => edit(setUserId, 'user_id')(e.target.value)}
            />
          </Field>
          <Field id="record-action" label="Action" error={shown('action')}>
            <select
              id="record-action"
              value={action}
              aria-invalid={shown('action') ? true : undefined}
              aria-describedby={describedBy('record-action', undefined, shown('action'))}
              onChange={(e) => edit(setAction, 'action')(e.target.value)}
            >
              <option value="">Choose an action</option>
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field id="record-time" label="When the user acted" hint={timeHint} error={shown('event_action_timestamp')}>
          <div className="inline">
            <input
              id="record-time"
              type="datetime-local"
              step={1}
              value={when}
              aria-invalid={shown('event_action_timestamp') ? true : undefined}
              aria-describedby={describedBy('record-time', timeHint, shown('event_action_timestamp'))}
              onChange={(e) => edit(setWhen, 'event_action_timestamp')(e.target.value)}
            />
            <button type="button" className="secondary" onClick={() => edit(setWhen, 'event_action_timestamp')(toInputValue(new Date()))}>
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
          hint="A UUID makes retries safe: the same id is stored once."
          error={shown('event_id')}
        >
          <div className="inline">
            <input
              id="record-event-id"
              className="code"
              autoComplete="off"
              spellCheck={false}
              value={eventId}
              aria-invalid={shown('event_id') ? true : undefined}
              aria-describedby={describedBy('record-event-id', true, shown('event_id'))}
              onChange={(e) => edit(setEventId, 'event_id')(e.target.value)}
            />
            <button type="button" className="secondary" onClick={() => edit(setEventId, 'event_id')(newUuid())}>
              Generate
            </button>
          </div>
        </Field>
        <ErrorBanner>{banner}</ErrorBanner>
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Recording…' : 'Record event'}
          </button>
        </div>
      </form>
      <div aria-live="polite" className="result-area">
        {stored ? (
          <section className="card result" aria-labelledby="record-result-title">
            <h3 id="record-result-title">
              {stored.status === 'duplicate'
                ? `Already recorded: event ${stored.id} has this event id`
                : `Stored as event ${stored.id}`}
            </h3>
            <EventDetails event={stored} />
            {onShowUser ? (
              <button type="button" className="secondary" onClick={() => onShowUser(String(stored.user_id))}>
                Show user {stored.user_id}'s events
              </button>
            ) : null}
            <p className="hint">Recorded at {formatLocal(stored.recorded_at)} (your time).</p>
          </section>
        ) : null}
      </div>
    </div>
  );
}

