import type { ReactNode } from 'react';

/** The ids an input's aria-describedby lists: its hint and its error. */
export function describedBy(id: string, hint?: ReactNode, error?: string | null): string | undefined {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
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
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
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
