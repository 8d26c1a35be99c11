// ResultsCard.tsx: the card an answer is shown in, under the form that
// asked for it.  While a new answer is on its way the old one stays,
// greyed and marked "Updating…"; its heading can take the focus, so that
// an answer that arrives is announced and, on a phone, scrolled into view.
import type { ReactNode, Ref } from 'react';

interface Props {
  titleId: string;
  title: ReactNode;
  loading: boolean;
  /** Classes besides "card". */
  className?: string;
  headingClass?: string;
  headingRef?: Ref<HTMLHeadingElement>;
  /** Buttons beside the heading. */
  tools?: ReactNode;
  children: ReactNode;
}

export function ResultsCard({ titleId, title, loading, className, headingClass, headingRef, tools, children }: Props) {
  return (
    <section
      className={`card${className ? ` ${className}` : ''}${loading ? ' stale' : ''}`}
      aria-labelledby={titleId}
      aria-busy={loading}
    >
      <div className="results-head">
        <h3 id={titleId} className={headingClass} tabIndex={-1} ref={headingRef}>
          {title}
        </h3>
        {loading ? <span className="stale-note">Updating…</span> : null}
        {tools}
      </div>
      {children}
    </section>
  );
}
