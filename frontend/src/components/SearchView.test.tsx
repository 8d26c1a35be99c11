import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { event, mockFetch, problem } from '../test/fetch';
import { parseInputValue } from '../time';
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
    expect(from).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:00$/);
    expect(parseInputValue(to)!.getTime() - parseInputValue(from)!.getTime()).toBe(24 * 3600 * 1000);
    expect(screen.getByLabelText('Acted from')).toHaveValue('');
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
    await user.type(to, '2000-01-01 00:00');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(to).toHaveAccessibleDescription(expect.stringContaining('The end must be after the start.'));
    await waitFor(() => expect(to).toHaveFocus());
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
    expect(rows[1]).toHaveTextContent('12025-10-10 20:30:00 CEST2025-10-10 20:31:00 CESTviewed{"ip":"192.168.1.10"}');
    // A pager above the results and one below.
    expect(screen.getAllByRole('button', { name: '← Previous' })).toHaveLength(2);
    expect(screen.getAllByRole('button', { name: '← Previous' })[0]).toBeDisabled();
    expect(screen.getByText(/More than 10 matches\. The API gives no total/)).toBeInTheDocument();
    expect(window.location.hash).toMatch(/^#search\?user=6&from=.*&action=created,viewed&limit=10$/);

    await user.click(screen.getAllByRole('button', { name: 'Next →' })[0]);
    expect(await screen.findByRole('heading', { name: 'Page 2 · events 11–20' })).toBeInTheDocument();
    expect(calls[1].url.searchParams.get('cursor')).toBe('p2');
    await user.click(screen.getAllByRole('button', { name: 'Next →' })[1]);
    expect(await screen.findByRole('heading', { name: 'Page 3 · events 21–23' })).toBeInTheDocument();
    expect(screen.getAllByRole('button', { name: 'Next →' })[0]).toBeDisabled();
    expect(screen.getByText('23 matches in all.')).toBeInTheDocument();
    expect(window.location.hash).toMatch(/&cursor=p2,p3$/);
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Page 3 · events 21–23' })).toHaveFocus());

    await user.click(screen.getAllByRole('button', { name: '← Previous' })[0]);
    expect(await screen.findByRole('heading', { name: 'Page 2 · events 11–20' })).toBeInTheDocument();
    expect(calls[3].url.searchParams.get('cursor')).toBe('p2');
    await user.click(screen.getAllByRole('button', { name: '← Previous' })[0]);
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
    expect(await screen.findByText('No events of user 77 match.')).toBeInTheDocument();
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
    expect(from).toHaveAccessibleDescription(expect.stringContaining('Field "from" must be RFC 3339 with an offset.'));
    await waitFor(() => expect(from).toHaveFocus());
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

  it('filters by when the users acted, the recorded range left open', async () => {
    const calls = mockFetch([['/api/events', () => ({ body: [event(1)] })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    const recorded = screen.getByRole('group', { name: 'When the events were recorded' });
    await user.click(within(recorded).getByRole('button', { name: 'Any time' }));
    expect(screen.getByLabelText('Recorded from')).toHaveValue('');
    await user.type(screen.getByLabelText('Acted from'), '2025-10-10 20:00');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await screen.findByRole('heading', { name: 'Page 1 · events 1–1' });
    const q = calls[0].url.searchParams;
    expect(q.get('action_from')).toBe('2025-10-10T20:00:00+02:00');
    expect(q.has('action_to')).toBe(false);
    // The API asks for a recorded range: an open one is the widest.
    expect(q.get('from')).toBe('1970-01-01T00:00:00Z');
    expect(q.get('to')).toBe('9999-12-31T23:59:59Z');
    expect(window.location.hash).toBe('#search?user=6&acted_from=2025-10-10T18:00:00Z');
  });

  it('checks the acted-at range, opening the filter to show the error', async () => {
    const calls = mockFetch([]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.type(screen.getByLabelText('Acted from'), '2025-10-10 20:00:00');
    await user.type(screen.getByLabelText('Acted before'), '2025-10-10 19:00:00');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const to = screen.getByLabelText('Acted before');
    expect(to).toHaveAccessibleDescription(expect.stringContaining('The end must be after the start.'));
    await waitFor(() => expect(to).toHaveFocus());
    expect(calls).toHaveLength(0);
  });

  it('runs the search in the address, at its page', async () => {
    const calls = mockFetch([['/api/events', () => ({ body: [event(5)] })]]);
    render(
      <SearchView
        active
        params={new URLSearchParams('user=6&from=2025-10-10T18:00:00Z&action=viewed&limit=10&order=acted-desc&cursor=c2,c3')}
      />,
    );
    expect(await screen.findByRole('heading', { name: 'Page 3 · events 21–21' })).toBeInTheDocument();
    expect(screen.getByLabelText('User id')).toHaveValue('6');
    expect(screen.getByLabelText('Recorded from')).toHaveValue('2025-10-10 20:00:00');
    expect(screen.getByLabelText('Recorded before')).toHaveValue('');
    expect(screen.getByRole('checkbox', { name: 'viewed' })).toBeChecked();
    expect(screen.getByLabelText('Order')).toHaveValue('acted-desc');
    const q = calls[0].url.searchParams;
    expect(q.get('user_id')).toBe('6');
    expect(q.get('from')).toBe('2025-10-10T18:00:00Z');
    expect(q.get('cursor')).toBe('c3');
    expect(q.get('limit')).toBe('10');
  });

  it('sorts the page by acted time when asked, and says it is this page only', async () => {
    const rows = [
      event(1, { event_action_timestamp: '2025-10-10T10:00:00Z' }),
      event(2, { event_action_timestamp: '2025-10-10T12:00:00Z' }),
      event(3, { event_action_timestamp: '2025-10-10T11:00:00Z' }),
    ];
    mockFetch([['/api/events', () => ({ body: rows })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const ids = () => within(screen.getByRole('table')).getAllByRole('row').slice(1).map((r) => r.firstChild!.textContent);
    await screen.findByRole('heading', { name: 'Page 1 · events 1–3' });
    expect(ids()).toEqual(['1', '2', '3']);
    expect(screen.getByText('3 matches in all.')).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('Order'), 'acted-desc');
    expect(ids()).toEqual(['2', '3', '1']);
    expect(screen.getByText(/within this page only/)).toBeInTheDocument();
    expect(window.location.hash).toMatch(/&order=acted-desc$/);
    await user.selectOptions(screen.getByLabelText('Order'), 'acted-asc');
    expect(ids()).toEqual(['1', '3', '2']);
  });

  it('fades the old results while a search runs and drops them when it fails', async () => {
    let release: (() => void) | null = null;
    let n = 0;
    mockFetch([
      [
        '/api/events',
        () => {
          n++;
          if (n === 1) return { body: [event(1)] };
          return new Promise((resolve) => {
            release = () => resolve(problem(503, 'Service Unavailable', 'The database does not answer.'));
          });
        },
      ],
    ]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await screen.findByRole('heading', { name: 'Page 1 · events 1–1' });
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const results = screen.getByRole('region', { name: 'Page 1 · events 1–1' });
    await waitFor(() => expect(results).toHaveClass('stale'));
    expect(results).toHaveAttribute('aria-busy', 'true');
    expect(within(results).getByText('Updating…')).toBeInTheDocument();
    // Still focusable and pressed while the request runs: focus stays.
    expect(screen.getByRole('button', { name: 'Searching…' })).toHaveFocus();
    release!();
    expect(await screen.findByRole('alert')).toHaveTextContent('The database does not answer.');
    expect(screen.queryByRole('table')).toBeNull();
    expect(screen.queryByRole('heading', { name: /^Page/ })).toBeNull();
  });

  it('announces the results and moves focus to them', async () => {
    mockFetch([['/api/events', () => ({ body: [event(1), event(2)] })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const heading = await screen.findByRole('heading', { name: 'Page 1 · events 1–2' });
    await waitFor(() => expect(heading).toHaveFocus());
    expect(screen.getAllByRole('status').some((s) => s.textContent === 'Page 1: events 1 to 2 of user 6.')).toBe(true);
  });

  it('shows one card per event on a narrow screen', async () => {
    vi.stubGlobal('matchMedia', (q: string) => ({
      matches: q === '(max-width: 639px)',
      addEventListener() {},
      removeEventListener() {},
    }));
    mockFetch([['/api/events', () => ({ body: [event(1), event(2)] })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const list = await screen.findByRole('list', { name: 'Events of user 6' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(2);
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('sends a metadata filter as one JSON parameter, and checks it first', async () => {
    const calls = mockFetch([['/api/events', () => ({ body: [event(1)] })]]);
    const user = userEvent.setup();
    render(<SearchView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    const meta = await screen.findByLabelText('Metadata contains (JSON object, optional)');
    await user.type(meta, '{{"device": "iPhone 14"');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(meta).toHaveAccessibleDescription(expect.stringContaining('Line 1, column'));
    expect(calls.filter((c) => c.url.pathname === '/api/events')).toHaveLength(0);
    await user.type(meta, '}');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await screen.findByRole('heading', { name: 'Page 1 · events 1–1' });
    const search = calls.filter((c) => c.url.pathname === '/api/events');
    expect(search).toHaveLength(1);
    expect(search[0].url.searchParams.get('metadata')).toBe('{"device":"iPhone 14"}');
    expect(window.location.hash).toContain('metadata=%7B%22device%22');
  });
});
