// Connection.tsx: the header's panel for where the API is and its keys
// (api.ts keeps them), with a test of both; a disclosure that closes as
// menus do, so that on a phone it never stays over the forms.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import {
  apiBaseError,
  apiBaseUrl,
  configuredApiKey,
  defaultApiBase,
  enteredApiBase,
  enteredApiKey,
  remembered,
  setApiBase,
  setApiKey,
  setRemembered,
  testConnection,
  type ConnectionReport,
} from '../api';
import type { ViewId } from '../route';
import { FieldError } from './Field';

/** The header's "Connection" panel: where the API is, its keys, where they
 * are kept, and a test.  It closes on Escape, on a click outside it and when
 * the view changes, so that on a phone it never stays over the forms. */
export function Connection({ view }: { view: ViewId }) {
  const [open, setOpen] = useState(false);
  const [base, setBase] = useState(() => enteredApiBase() || apiBaseUrl());
  const [baseError, setBaseError] = useState<string | null>(null);
  const [current, setCurrent] = useState(apiBaseUrl);
  const [read, setRead] = useState(() => enteredApiKey('read'));
  const [write, setWrite] = useState(() => enteredApiKey('write'));
  const [remember, setRemember] = useState(remembered);
  const [report, setReport] = useState<ConnectionReport | null>(null);
  const [testing, setTesting] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const panelId = 'connection';

  useEffect(() => setOpen(false), [view]);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        toggle.current?.focus();
      }
    };
    const onPointer = (e: PointerEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer);
    };
  }, [open]);

  /** A key's field: kept (api.ts) as it is typed. */
  const keyField = (kind: 'read' | 'write', label: string, value: string, set: (v: string) => void) => (
    <>
      <label htmlFor={`${panelId}-${kind}`}>{label}</label>
      <input
        id={`${panelId}-${kind}`}
        type="password"
        autoComplete="off"
        placeholder={configuredApiKey(kind) ? 'given by the server' : undefined}
        value={value}
        onChange={(e) => {
          set(e.target.value);
          setApiKey(kind, e.target.value);
        }}
      />
    </>
  );

  function applyBase(e: FormEvent) {
    e.preventDefault();
    const err = apiBaseError(base);
    setBaseError(err);
    if (err) {
      document.getElementById(`${panelId}-base`)?.focus();
      return;
    }
    setApiBase(base.trim() === defaultApiBase() ? '' : base);
    setCurrent(apiBaseUrl());
    setBase(apiBaseUrl());
    setReport(null);
  }

  function resetBase() {
    setApiBase('');
    setCurrent(apiBaseUrl());
    setBase(apiBaseUrl());
    setBaseError(null);
    setReport(null);
  }

  async function test() {
    setTesting(true);
    setReport(null);
    try {
      setReport(await testConnection(apiBaseUrl()));
    } finally {
      setTesting(false);
    }
  }

  const isDefault = current === defaultApiBase();
  return (
    <div className="connection" ref={box}>
      <button
        type="button"
        ref={toggle}
        className="connection-toggle"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
      >
        Connection
      </button>
      <div id={panelId} className="connection-body" role="region" aria-label="Connection" hidden={!open}>
        <form onSubmit={applyBase} noValidate>
          <label htmlFor={`${panelId}-base`}>API address</label>
          <div className="inline">
            <input
              id={`${panelId}-base`}
              type="url"
              inputMode="url"
              autoComplete="off"
              spellCheck={false}
              value={base}
              aria-invalid={baseError ? true : undefined}
              aria-describedby={`${panelId}-base-hint${baseError ? ` ${panelId}-base-error` : ''}`}
              onChange={(e) => {
                setBase(e.target.value);
                setBaseError(null);
              }}
            />
            <button type="submit" className="secondary">
              Use
            </button>
          </div>
          <p id={`${panelId}-base-hint`} className="hint">
            In use: <code>{current}</code>
            {isDefault ? ' (the default).' : ' (entered here). '}
            {!isDefault ? (
              <button type="button" className="link-button" onClick={resetBase}>
                Back to the default
              </button>
            ) : null}
          </p>
          <FieldError id={`${panelId}-base`} error={baseError} />
        </form>
        <p className="hint">
          Keys are needed only when the API asks for them; the admin key works for both. A key entered here replaces
          the one the server gives the page.
        </p>
        {keyField('read', 'Read key (search, activity)', read, setRead)}
        {keyField('write', 'Write key (record)', write, setWrite)}
        <label className="check">
          <input
            type="checkbox"
            checked={remember}
            aria-describedby={`${panelId}-kept`}
            onChange={(e) => {
              setRemembered(e.target.checked);
              setRemember(e.target.checked);
            }}
          />
          Remember on this device
        </label>
        <p id={`${panelId}-kept`} className="hint">
          {remember
            ? "Kept in this browser's local storage, in plain text, until you untick this."
            : "Kept for this tab only (the browser's session storage), forgotten when it closes."}
        </p>
        <div className="inline">
          <button type="button" className="secondary" onClick={() => void test()} disabled={testing}>
            {testing ? 'Testing…' : 'Test connection'}
          </button>
        </div>
        <div role="status" className="connection-report">
          {report ? (
            <p className={report.ok ? 'ok-text' : 'bad-text'}>
              {report.ok ? 'Connected. ' : 'Not connected. '}
              {report.lines.join(' ')}
            </p>
          ) : null}
        </div>
      </div>
    </div>
  );
}
