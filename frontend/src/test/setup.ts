import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach, vi } from 'vitest';
import { forgetCapabilities } from '../api';

// Times are checked in a zone with daylight saving time, whatever the
// machine's zone is (Node applies a changed TZ at once).
process.env.TZ = 'Europe/Berlin';

// jsdom has no layout: a ResizeObserver that reports every observed box as
// 640 x 300, so that Recharts' ResponsiveContainer draws its chart.
class FixedSizeObserver {
  private readonly callback: ResizeObserverCallback;
  constructor(callback: ResizeObserverCallback) {
    this.callback = callback;
  }
  observe(target: Element) {
    setTimeout(() =>
      this.callback(
        [{ target, contentRect: { width: 640, height: 300 } } as unknown as ResizeObserverEntry],
        this as unknown as ResizeObserver,
      ),
    );
  }
  unobserve() {}
  disconnect() {}
}
(globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = FixedSizeObserver;

// findBy* and waitFor wait up to 15 s (default 1 s): other suites may load
// the machine, and the chart is a lazily imported module.
configure({ asyncUtilTimeout: 15_000 });

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  window.localStorage.clear();
  window.sessionStorage.clear();
  forgetCapabilities();
  window.location.hash = '';
});
