import { useMemo } from 'react';
import { checkMetadata } from '../json';
import { describedBy } from './Field';

interface Props {
  id: string;
  value: string;
  onChange: (value: string) => void;
  /** An error from outside (the server), shown when the text itself is valid. */
  error?: string | null;
  label: string;
}

/** A JSON editor that checks the text as it is typed and says where the
 * first error is (line and column), with a button to tidy it up. */
export function JsonEditor({ id, value, onChange, error, label }: Props) {
  const check = useMemo(() => checkMetadata(value), [value]);
  const own = check.ok ? null : `Line ${check.line}, column ${check.column}: ${check.message}.`;
  const shown = own ?? error ?? null;
  const bytes = useMemo(() => new TextEncoder().encode(value).length, [value]);
  const hint = check.ok ? `Valid JSON object · ${bytes} bytes` : null;

  const format = () => {
    if (check.ok) onChange(JSON.stringify(check.value, null, 2));
  };

  const jumpToError = () => {
    if (check.ok) return;
    const ta = document.getElementById(id) as HTMLTextAreaElement | null;
    if (ta) {
      ta.focus();
      ta.setSelectionRange(check.position, Math.min(check.position + 1, value.length));
    }
  };

  return (
    <div className={`field json-editor${shown ? ' invalid' : ''}`}>
      <div className="json-editor-head">
        <label htmlFor={id}>{label}</label>
        <span className="json-editor-tools">
          {!check.ok ? (
            <button type="button" className="link-button" onClick={jumpToError}>
              Go to error
            </button>
          ) : null}
          <button type="button" className="link-button" onClick={format} disabled={!check.ok}>
            Format
          </button>
        </span>
      </div>
      <textarea
        id={id}
        className="code"
        value={value}
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
        rows={6}
        aria-invalid={shown ? true : undefined}
        aria-describedby={describedBy(id, hint, shown)}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint ? (
        <div id={`${id}-hint`} className="hint ok">
          {hint}
        </div>
      ) : null}
      {shown ? (
        <p id={`${id}-error`} className="field-error" aria-live="polite">
          {shown}
        </p>
      ) : null}
    </div>
  );
}
