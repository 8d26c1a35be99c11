import { useEffect, useRef, useState } from 'react';
import { apiBaseUrl, configuredApiKey, enteredApiKey, setApiKey } from './api';
import { ActivityView } from './components/ActivityView';
import { RecordView } from './components/RecordView';
import { SearchView, type SearchRequest } from './components/SearchView';

const VIEWS = [
  { id: 'record', label: 'Record', title: 'Record an event' },
  { id: 'search', label: 'Search', title: 'Search events' },
  { id: 'activity', label: 'Activity', title: 'Activity' },
] as const;
type ViewId = (typeof VIEWS)[number]['id'];

function viewFromHash(): ViewId {
  const h = window.location.hash.replace(/^#\/?/, '');
  return (VIEWS.find((v) => v.id === h)?.id ?? 'record') as ViewId;
}

/** The page: three views behind tabs (the URL's #fragment says which), all
 * kept mounted so that switching back finds the form and results as left. */
export function App() {
  const [view, setView] = useState<ViewId>(viewFromHash);
  const [searchRequest, setSearchRequest] = useState<SearchRequest | null>(null);
  const headings = useRef<Partial<Record<ViewId, HTMLHeadingElement | null>>>({});
  const moved = useRef(false);

  useEffect(() => {
    const onHash = () => {
      moved.current = true;
      setView(viewFromHash());
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.title = `${VIEWS.find((v) => v.id === view)!.title} · User activity`;
    // After a switch, start reading (and tabbing) at the view's heading.
    if (moved.current) headings.current[view]?.focus();
  }, [view]);

  const showUser = (userId: string) => {
    setSearchRequest({ userId, nonce: Date.now() });
    window.location.hash = '#search';
  };

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◔
          </span>
          <span>User activity</span>
        </div>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}>
                <a href={`#${v.id}`} aria-current={view === v.id ? 'page' : undefined}>
                  {v.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <Connection />
      </header>
      <main id="main" tabIndex={-1}>
        {VIEWS.map((v) => (
          <section key={v.id} id={`view-${v.id}`} hidden={view !== v.id} aria-labelledby={`title-${v.id}`}>
            <h2
              id={`title-${v.id}`}
              tabIndex={-1}
              ref={(el) => {
                headings.current[v.id] = el;
              }}
            >
              {v.title}
            </h2>
            {v.id === 'record' ? (
              <RecordView onShowUser={showUser} />
            ) : v.id === 'search' ? (
              <SearchView active={view === 'search'} request={searchRequest} />
            ) : (
              <ActivityView active={view === 'activity'} />
            )}
          </section>
        ))}
      </main>
    </>
  );
}

/** Where the API is, and its keys when it asks for them. */
function Connection() {
  const [read, setRead] = useState(() => enteredApiKey('read'));
  const [write, setWrite] = useState(() => enteredApiKey('write'));
  const given = (kind: 'read' | 'write') => (configuredApiKey(kind) ? 'given by the server' : undefined);
  return (
    <details className="connection">
      <summary>Connection</summary>
      <div className="connection-body">
        <p>
          API: <code>{apiBaseUrl()}</code>
        </p>
        <p className="hint">
          Keys are needed only when the API requires them; the admin key works for both. A key entered here replaces
          the one the server gives the page, in this browser only.
        </p>
        <label htmlFor="api-key-read">Read key (search, activity)</label>
        <input
          id="api-key-read"
          type="password"
          autoComplete="off"
          placeholder={given('read')}
          value={read}
          onChange={(e) => {
            setRead(e.target.value);
            setApiKey('read', e.target.value);
          }}
        />
        <label htmlFor="api-key-write">Write key (record)</label>
        <input
          id="api-key-write"
          type="password"
          autoComplete="off"
          placeholder={given('write')}
          value={write}
          onChange={(e) => {
            setWrite(e.target.value);
            setApiKey('write', e.target.value);
          }}
        />
      </div>
    </details>
  );
}
