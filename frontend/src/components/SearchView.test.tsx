import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { event, mockFetch, problem } from '../test/fetch';
import { SearchView } from './SearchView';

function pageOf(first: number, n: number) {
  return Array.from({ length: n }, (_, i) => event(first + i));
}

describe('SearchView', () => {
  it('starts with the last 24 hours and asks for a user id', async () => {
    const calls = mockFetch([]);
    const user = userEvent.setup();
    render(<SearchView active />);
    const from = (screen.getByLabelText('Recorded from') as HTMLInputElement).value;
    const to = (screen.getByLabelText('Recorded before') as HTMLInputElement).value;
    expect(new Date(to).getTime() - new Date(from).getTime()).toBe(24 * 3600 * 1000);
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(screen.getByLabelText('User id')).toHaveAccessibleDescription('Enter a user id.');
    expect(calls).toHaveLength(0);
  });

  it('checks that the range runs forwards', async () => {
    mockFetch([]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    const to = screen.getByLabelText('Recorded before');
    await user.clear(to);
    await user.type(to, '2000-01-01T00:00:00');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(to).toHaveAccessibleDescription('The end must be after the start.');
  });

  it('shows a page of events and walks the cursor forwards and back', async () => {
    const calls = mockFetch([
      [
        '/api/events',
        (c) => {
          const cursor = c.url.searchParams.get('cursor');
          if (!cursor) return { body: pageOf(1, 10), headers: { Link: '</api/events?user_id=6&cursor=p2>; rel="next"' } };
          if (cursor === 'p2') return { body: pageOf(11, 10), headers: { Link: '</api/events?user_id=6&cursor=p3>; rel="next"' } };
          return { body: pageOf(21, 3) };
        },
      ],
    ]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.selectOptions(screen.getByLabelText('Per page'), '10');
    await user.click(screen.getByRole('checkbox', { name: 'viewed' }));
    await user.click(screen.getByRole('checkbox', { name: 'created' }));
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(await screen.findByRole('heading', { name: 'Page 1 · events 1–10' })).toBeInTheDocument();
    const q = calls[0].url.searchParams;
    expect(q.get('user_id')).toBe('6');
    expect(q.get('limit')).toBe('10');
    expect(q.get('action')).toBe('created,viewed');
    expect(q.get('from')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    const rows = within(screen.getByRole('table')).getAllByRole('row');
    expect(rows).toHaveLength(11);
    expect(rows[1]).toHaveTextContent('12025-10-10 20:30:002025-10-10 20:31:00.500viewed{"ip":"192.168.1.10"}');
    expect(screen.getByRole('button', { name: '← Previous' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Next →' }));
    expect(await screen.findByRole('heading', { name: 'Page 2 · events 11–20' })).toBeInTheDocument();
    expect(calls[1].url.searchParams.get('cursor')).toBe('p2');
    await user.click(screen.getByRole('button', { name: 'Next →' }));
    expect(await screen.findByRole('heading', { name: 'Page 3 · events 21–23' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next →' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: '← Previous' }));
    expect(await screen.findByRole('heading', { name: 'Page 2 · events 11–20' })).toBeInTheDocument();
    expect(calls[3].url.searchParams.get('cursor')).toBe('p2');
    await user.click(screen.getByRole('button', { name: '← Previous' }));
    expect(await screen.findByRole('heading', { name: 'Page 1 · events 1–10' })).toBeInTheDocument();
    expect(calls[4].url.searchParams.get('cursor')).toBeNull();
  });

  it('expands long metadata', async () => {
    const long = { page: '/settings/profile/notifications', ip: '192.168.1.10', agent: 'Firefox' };
    mockFetch([['/api/events', () => ({ body: [event(1, { metadata: long })] })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const summary = await screen.findByText(/^\{"page":"\/settings/);
    const details = summary.closest('details')!;
    expect(details.open).toBe(false);
    await user.click(summary);
    expect(details.open).toBe(true);
    expect(details.querySelector('pre')).toHaveTextContent('"agent": "Firefox"');
  });

  it('says when nothing matched', async () => {
    mockFetch([['/api/events', () => ({ body: [] })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '77');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(await screen.findByText('No events recorded for user 77 in this range.')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Download CSV' })).toBeDisabled();
  });

  it("shows the server's error next to the field it names", async () => {
    mockFetch([
      ['/api/events', () => problem(400, 'Bad Request', 'Field "from" must be RFC 3339 with an offset.', 'from')],
    ]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const from = screen.getByLabelText('Recorded from');
    expect(await screen.findByText('Field "from" must be RFC 3339 with an offset.')).toBeInTheDocument();
    expect(from).toHaveAccessibleDescription('Field "from" must be RFC 3339 with an offset.');
    expect(from).toHaveFocus();
  });

  it('downloads every match through the streaming endpoint', async () => {
    const calls = mockFetch([
      [
        '/api/events',
        (c) =>
          c.headers.Accept === 'text/csv'
            ? { text: 'id,user_id\n1,6\n', headers: { 'Content-Type': 'text/csv' } }
            : { body: [event(1)] },
      ],
    ]);
    const created: Blob[] = [];
    URL.createObjectURL = (b: Blob) => {
      created.push(b);
      return 'blob:test';
    };
    URL.revokeObjectURL = () => {};
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(`${this.download} ${this.href}`);
    });
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await user.click(await screen.findByRole('button', { name: 'Download CSV' }));
    expect(await screen.findByText(/Downloaded user-6-events.csv \(15 B\)/)).toBeInTheDocument();
    const exp = calls[1];
    expect(exp.headers.Accept).toBe('text/csv');
    expect(exp.url.searchParams.get('limit')).toBeNull();
    expect(exp.url.searchParams.get('user_id')).toBe('6');
    expect(await created[0].text()).toBe('id,user_id\n1,6\n');
    expect(clicked).toEqual(['user-6-events.csv blob:test']);
  });

  it('filters by when the users acted, when asked', async () => {
    const calls = mockFetch([['/api/events', () => ({ body: [event(1)] })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByText('When the users acted (optional)'));
    await user.type(screen.getByLabelText('Acted from'), '2025-10-10T20:00:00');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await screen.findByRole('heading', { name: 'Page 1 · events 1–1' });
    expect(calls[0].url.searchParams.get('action_from')).toBe('2025-10-10T20:00:00+02:00');
    expect(calls[0].url.searchParams.has('action_to')).toBe(false);
  });

  it('checks the acted-at range, opening the filter to show the error', async () => {
    const calls = mockFetch([]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByText('When the users acted (optional)'));
    await user.type(screen.getByLabelText('Acted from'), '2025-10-10T20:00:00');
    await user.type(screen.getByLabelText('Acted before'), '2025-10-10T19:00:00');
    await user.click(screen.getByText('When the users acted (optional)'));
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const to = screen.getByLabelText('Acted before');
    expect(to).toHaveAccessibleDescription('The end must be after the start.');
    await waitFor(() => expect(to).toHaveFocus());
    expect(to.closest('details')!.open).toBe(true);
    expect(calls).toHaveLength(0);
  });

  it('runs a search asked for by another view', async () => {
    const calls = mockFetch([['/api/events', () => ({ body: [event(5)] })]]);
    render(<SearchView active request={{ userId: '6', nonce: 1 }} />);
    expect(await screen.findByRole('heading', { name: 'Page 1 · events 1–1' })).toBeInTheDocument();
    expect(screen.getByLabelText('User id')).toHaveValue('6');
    expect(calls[0].url.searchParams.get('user_id')).toBe('6');
  });
});
