import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { event, mockFetch, problem } from './test/fetch';

describe('App', () => {
  it('switches views by the address, moving focus to the view heading', async () => {
    mockFetch([['/api/counts/top', () => ({ body: [] })], ['/api/counting/status', () => ({ body: {} })]]);
    const user = userEvent.setup();
    render(<App />);
    expect(screen.getByRole('heading', { level: 2, name: 'Record an event' })).toBeVisible();
    expect(screen.getByRole('link', { name: 'Record' })).toHaveAttribute('aria-current', 'page');
    await user.click(screen.getByRole('link', { name: 'Search' }));
    await waitFor(() => expect(screen.getByRole('heading', { level: 2, name: 'Search events' })).toHaveFocus());
    expect(screen.getByRole('link', { name: 'Search' })).toHaveAttribute('aria-current', 'page');
    expect(screen.queryByRole('heading', { level: 2, name: 'Record an event' })).toBeNull();
    expect(document.title).toBe('Search events · User activity');
    await user.click(screen.getByRole('link', { name: 'Activity' }));
    await waitFor(() => expect(screen.getByRole('heading', { level: 2, name: 'Activity' })).toHaveFocus());
  });

  it("goes from a stored event to that user's events", async () => {
    const calls = mockFetch([
      ['/api/event', () => ({ status: 201, body: { ...event(9), status: 'stored' } })],
      ['/api/events', () => ({ body: [event(9)] })],
    ]);
    const user = userEvent.setup();
    render(<App />);
    const record = document.getElementById('view-record')!;
    await user.type(record.querySelector('#record-user')!, '6');
    await user.selectOptions(record.querySelector('#record-action')!, 'viewed');
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    await user.click(await screen.findByRole('button', { name: "Show user 6's events" }));
    expect(await screen.findByRole('heading', { name: 'Page 1 · events 1–1' })).toBeVisible();
    expect(calls.at(-1)!.url.searchParams.get('user_id')).toBe('6');
  });

  it('keeps entered keys for this tab, or on this device when asked', async () => {
    mockFetch([]);
    const user = userEvent.setup();
    render(<App />);
    await user.click(screen.getByRole('button', { name: 'Connection' }));
    await user.type(screen.getByLabelText('Read key (search, activity)'), 'r1');
    await user.type(screen.getByLabelText('Write key (record)'), 'w1');
    expect(window.sessionStorage.getItem('user-activity.api-key.read')).toBe('r1');
    expect(window.sessionStorage.getItem('user-activity.api-key.write')).toBe('w1');
    expect(window.localStorage.length).toBe(0);
    expect(screen.getByText(/Kept for this tab only/)).toBeInTheDocument();
    await user.click(screen.getByRole('checkbox', { name: 'Remember on this device' }));
    expect(window.localStorage.getItem('user-activity.api-key.read')).toBe('r1');
    expect(window.sessionStorage.getItem('user-activity.api-key.read')).toBeNull();
    expect(screen.getByText(/in plain text, until you untick this/)).toBeInTheDocument();
    await user.click(screen.getByRole('checkbox', { name: 'Remember on this device' }));
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.getItem('user-activity.api-key.write')).toBe('w1');
  });

  it('closes the connection panel on Escape, on a click outside and on a view change', async () => {
    mockFetch([['/api/counts/top', () => ({ body: [] })], ['/api/counting/status', () => ({ body: {} })]]);
    const user = userEvent.setup();
    render(<App />);
    const toggle = screen.getByRole('button', { name: 'Connection' });
    const panel = () => screen.queryByRole('region', { name: 'Connection' });
    await user.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    expect(panel()).toBeVisible();
    await user.click(screen.getByLabelText('API address'));
    await user.keyboard('{Escape}');
    expect(panel()).toBeNull();
    expect(toggle).toHaveFocus();
    await user.click(toggle);
    await user.click(screen.getByRole('heading', { level: 2, name: 'Record an event' }));
    expect(panel()).toBeNull();
    await user.click(toggle);
    await user.click(screen.getByRole('link', { name: 'Search' }));
    await waitFor(() => expect(panel()).toBeNull());
  });

  it('changes the API address and tests the connection', async () => {
    const calls = mockFetch([
      ['/readyz', () => ({ body: { status: 'ready' } })],
      ['/api/counting/status', () => problem(401, 'Unauthorized', 'This endpoint needs an API key.')],
    ]);
    const user = userEvent.setup();
    render(<App />);
    await user.click(screen.getByRole('button', { name: 'Connection' }));
    const address = screen.getByLabelText('API address');
    await user.clear(address);
    await user.type(address, 'ftp://example.test');
    await user.click(screen.getByRole('button', { name: 'Use' }));
    expect(address).toHaveAccessibleDescription(expect.stringContaining('must start with http:// or https://'));
    await user.clear(address);
    await user.type(address, 'http://api.example.test:8080/api/');
    await user.click(screen.getByRole('button', { name: 'Use' }));
    expect(screen.getByText('http://api.example.test:8080')).toBeInTheDocument();
    expect(window.sessionStorage.getItem('user-activity.api-base')).toBe('http://api.example.test:8080');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText(/^Not connected\. The API and its database answer\. The API asks for a read key\./)).toBeInTheDocument();
    expect(calls.map((c) => c.url.toString())).toEqual([
      'http://api.example.test:8080/readyz',
      'http://api.example.test:8080/api/counting/status',
    ]);
    await user.click(screen.getByRole('button', { name: 'Back to the default' }));
    expect(window.sessionStorage.getItem('user-activity.api-base')).toBeNull();
  });

  it('has one h1, and shows times in UTC when asked', async () => {
    mockFetch([
      ['/api/event', () => ({ status: 201, body: { ...event(9), status: 'stored' } })],
    ]);
    const user = userEvent.setup();
    render(<App />);
    expect(screen.getAllByRole('heading', { level: 1 })).toHaveLength(1);
    const record = document.getElementById('view-record')!;
    const when = record.querySelector('#record-time') as HTMLInputElement;
    await user.clear(when);
    await user.type(when, '2025-10-10 20:30');
    await user.click(screen.getByRole('radio', { name: 'UTC' }));
    // The field keeps its moment: 20:30 in Berlin is 18:30 UTC.
    expect(when).toHaveValue('2025-10-10 18:30:00');
    expect(screen.getByText('2025-10-10T18:30:00Z')).toBeInTheDocument();
    await user.type(record.querySelector('#record-user')!, '6');
    await user.selectOptions(record.querySelector('#record-action')!, 'viewed');
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    await screen.findByRole('heading', { name: 'Stored as event 9' });
    expect(record).toHaveTextContent('Acted at2025-10-10 18:30:00 UTC');
    expect(window.localStorage.getItem('user-activity.time-zone')).toBe('utc');
    await user.click(screen.getByRole('radio', { name: 'Europe/Berlin' }));
    expect(record).toHaveTextContent('Acted at2025-10-10 20:30:00 CEST');
  });

  it('sends the keys config.js gives it, unless the user enters others', async () => {
    window.USER_ACTIVITY_CONFIG = { apiKeys: { read: 'given-read', write: 'given-write' } };
    try {
      const calls = mockFetch([
        ['/api/event', () => ({ status: 201, body: { ...event(9), status: 'stored' } })],
        ['/api/events', () => ({ body: [event(9)] })],
      ]);
      const user = userEvent.setup();
      render(<App />);
      await user.click(screen.getByRole('button', { name: 'Connection' }));
      const readKey = screen.getByLabelText('Read key (search, activity)');
      expect(readKey).toHaveValue('');
      expect(readKey).toHaveAttribute('placeholder', 'given by the server');
      const record = document.getElementById('view-record')!;
      await user.type(record.querySelector('#record-user')!, '6');
      await user.selectOptions(record.querySelector('#record-action')!, 'viewed');
      await user.click(screen.getByRole('button', { name: 'Record event' }));
      await user.click(await screen.findByRole('button', { name: "Show user 6's events" }));
      await screen.findByRole('heading', { name: 'Page 1 · events 1–1' });
      expect(calls.find((c) => c.method === 'POST')!.headers.Authorization).toBe('Bearer given-write');
      expect(calls.at(-1)!.headers.Authorization).toBe('Bearer given-read');
      // A key entered here wins, in this browser.
      await user.click(screen.getByRole('button', { name: 'Connection' }));
      await user.type(readKey, 'mine');
      await user.click(screen.getByRole('button', { name: 'Search' }));
      await waitFor(() => expect(calls.at(-1)!.headers.Authorization).toBe('Bearer mine'));
    } finally {
      window.USER_ACTIVITY_CONFIG = {};
    }
  });
});
