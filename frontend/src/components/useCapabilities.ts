// useCapabilities.ts: what the API in use offers (api.ts apiCapabilities),
// null until known.
import { useEffect, useState } from 'react';
import { apiCapabilities, type Capabilities } from '../api';

export function useCapabilities(active = true): Capabilities | null {
  const [caps, setCaps] = useState<Capabilities | null>(null);
  useEffect(() => {
    if (!active) return;
    let live = true;
    void apiCapabilities().then((c) => {
      if (live) setCaps(c);
    });
    return () => {
      live = false;
    };
  }, [active]);
  return caps;
}
