import { useEffect, useRef, useState } from 'react';
import { ActivityView } from './components/ActivityView';
import { Connection } from './components/Connection';
import { RecordView } from './components/RecordView';
import { SearchView } from './components/SearchView';
import { currentRoute, hashFor, type Route, type ViewId } from './route';
import { browserZoneName, type ZoneMode } from './time';
import { storedZoneMode, storeZoneMode, ZoneProvider } from './zone';

const VIEWS: ReadonlyArray<{ id: ViewId; label: string; title: string }> = [
  { id: 'record', label: 'Record', title: 'Record an event' },
  { id: 'search', label: 'Search', title: 'Search events' },
  { id: 'activity', label: 'Activity', title: 'Activity' },
];

/** The page: three views behind tabs, all kept mounted so that switching
 * back finds the form and results as left.  The address says which view and
 * its settings (route.ts); the header chooses the zone times are in. */
export function App() {
  const [route, setRoute] = useState<Route>(currentRoute);
  const [zone, setZone] = useState<ZoneMode>(storedZoneMode);
  const view = route.view;
  const headings = useRef<Partial<Record<ViewId, HTMLHeadingElement | null>>>({});
  const moved = useRef(false);

  useEffect(() => {
    const onHash = () => {
      const next = currentRoute();
      setRoute((cur) => {
        if (cur.view !== next.view) moved.current = true;
        return next;
      });
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.title = `${VIEWS.find((v) => v.id === view)!.title} · User activity`;
    // After a switch, start reading (and tabbing) at the view's heading.
    if (moved.current) headings.current[view]?.focus();
    moved.current = false;
  }, [view]);

  const chooseZone = (mode: ZoneMode) => {
    setZone(mode);
    storeZoneMode(mode);
  };

  const showUser = (userId: string) => {
    window.location.hash = hashFor('search', { user: userId });
  };

  const localName = browserZoneName() || 'your zone';

  return (
    <ZoneProvider mode={zone}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <h1 className="brand">
          <span className="logo" aria-hidden="true">
            ◔
          </span>
          <span>User activity</span>
        </h1>
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
        <div className="header-tools">
          <fieldset className="zone-switch">
            <legend>Times in</legend>
            <label>
              <input type="radio" name="zone" checked={zone === 'local'} onChange={() => chooseZone('local')} />
              <span>{localName}</span>
            </label>
            <label>
              <input type="radio" name="zone" checked={zone === 'utc'} onChange={() => chooseZone('utc')} />
              <span>UTC</span>
            </label>
          </fieldset>
          <Connection view={view} />
        </div>
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
              <SearchView active={view === 'search'} params={view === 'search' ? route.params : null} />
            ) : (
              <ActivityView active={view === 'activity'} params={view === 'activity' ? route.params : null} />
            )}
          </section>
        ))}
      </main>
    </ZoneProvider>
  );
}
