import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { event, mockFetch } from './test/fetch';

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

  it('keeps the API keys the user enters', async () => {
    mockFetch([]);
    const user = userEvent.setup();
    render(<App />);
    await user.click(screen.getByText('Connection'));
    await user.type(screen.getByLabelText('Read key (search, activity)'), 'r1');
    await user.type(screen.getByLabelText('Write key (record)'), 'w1');
    expect(window.localStorage.getItem('user-activity.api-key.read')).toBe('r1');
    expect(window.localStorage.getItem('user-activity.api-key.write')).toBe('w1');
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
      await user.click(screen.getByText('Connection'));
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
      await user.type(readKey, 'mine');
      await user.click(screen.getByRole('button', { name: 'Search' }));
      await waitFor(() => expect(calls.at(-1)!.headers.Authorization).toBe('Bearer mine'));
    } finally {
      window.USER_ACTIVITY_CONFIG = {};
    }
  });
});
