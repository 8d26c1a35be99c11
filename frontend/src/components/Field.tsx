// Field.tsx: what the views' forms are built of, so that every control is
// labelled, described by its hint and its error, and marked invalid the
// same way, and every form says alike that it is busy and what came back.
import type { ReactNode } from 'react';

/** The ids an input's aria-describedby lists: its hint and its error. */
export function describedBy(id: string, hint?: ReactNode, error?: string | null): string | undefined {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

/** A control's aria attributes: invalid while it has an error, described
 * by its hint and its error. */
export function fieldAria(id: string, hint?: ReactNode, error?: string | null) {
  return { 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy(id, hint, error) };
}

/** The error of a control (or a group of them), named by its
 * aria-describedby as "<id>-error". */
export function FieldError({ id, error }: { id: string; error?: string | null }) {
  return error ? (
    <p id={`${id}-error`} className="field-error">
      {error}
    </p>
  ) : null;
}

interface FieldProps {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string | null;
  children: ReactNode;
  className?: string;
}

/** A labelled form control with its hint and, when there is one, its error
 * right below it. */
export function Field({ id, label, hint, error, children, className }: FieldProps) {
  return (
    <div className={`field${error ? ' invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <div id={`${id}-hint`} className="hint">
          {hint}
        </div>
      ) : null}
      <FieldError id={id} error={error} />
    </div>
  );
}

/** A banner for errors that belong to no single field. */
export function ErrorBanner({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div className="banner banner-error" role="alert">
      {children}
    </div>
  );
}

/** A time field's input: typed as "YYYY-MM-DD HH:MM:SS" in the zone the
 * header chose, whatever the browser's locale would make of a date picker. */
export const TIME_INPUT = {
  type: 'text',
  className: 'time-input',
  autoComplete: 'off',
  spellCheck: false,
  placeholder: 'YYYY-MM-DD HH:MM',
} as const;

/** The user id a view asks for, typed as digits. */
export function UserIdField(p: { id: string; hint?: string; error: string | null; value: string; onChange: (v: string) => void }) {
  return (
    <Field id={p.id} label="User id" hint={p.hint} error={p.error}>
      <input
        id={p.id}
        inputMode="numeric"
        autoComplete="off"
        value={p.value}
        {...fieldAria(p.id, p.hint, p.error)}
        onChange={(e) => p.onChange(e.target.value)}
      />
    </Field>
  );
}

/** A bound of a form's time range: described by the form's note on how
 * times are typed (formatId), and by its error. */
export function RangeTimeField(p: {
  id: string;
  label: string;
  formatId: string;
  error: string | null;
  value: string;
  onChange: (v: string) => void;
}) {
  return (
    <Field id={p.id} label={p.label} error={p.error}>
      <input
        id={p.id}
        {...TIME_INPUT}
        value={p.value}
        aria-invalid={p.error ? true : undefined}
        aria-describedby={[p.formatId, p.error ? `${p.id}-error` : ''].filter(Boolean).join(' ')}
        onChange={(e) => p.onChange(e.target.value)}
      />
    </Field>
  );
}

/** A select's options, each value its own label. */
export function Options({ values }: { values: readonly string[] }) {
  return values.map((v) => (
    <option key={v} value={v}>
      {v}
    </option>
  ));
}

/** A form's submit button.  It stays enabled (and focused) while the
 * request runs, saying so; the form ignores a second press. */
export function SubmitButton({ busy, label, busyLabel }: { busy: boolean; label: string; busyLabel: string }) {
  return (
    <div className="actions">
      <button type="submit" aria-disabled={busy || undefined}>
        {busy ? busyLabel : label}
      </button>
    </div>
  );
}

/** What a screen reader is told when an answer arrives (or a request
 * starts): a live region nobody sees. */
export function Announcement({ text }: { text: string }) {
  return (
    <p className="visually-hidden" role="status">
      {text}
    </p>
  );
}
