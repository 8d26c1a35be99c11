import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { event, mockFetch, problem } from '../test/fetch';
import { RecordView } from './RecordView';

async function fillValid(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText('User id'), '6');
  await user.selectOptions(screen.getByLabelText('Action'), 'deleted');
  const when = screen.getByLabelText('When the user acted');
  await user.clear(when);
  await user.type(when, '2025-10-10T20:30:00');
}

function setMetadata(text: string) {
  // userEvent.type treats { and [ as key descriptors; paste the text instead.
  const ta = screen.getByLabelText('Metadata (JSON object)') as HTMLTextAreaElement;
  ta.focus();
  ta.select();
  return userEvent.setup().paste(text);
}

describe('RecordView', () => {
  it('names every missing field on submit and sends nothing', async () => {
    const calls = mockFetch([]);
    const user = userEvent.setup();
    render(<RecordView />);
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    expect(screen.getByLabelText('User id')).toHaveAccessibleDescription(/Enter a user id/);
    expect(screen.getByLabelText('User id')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('User id')).toHaveFocus();
    expect(screen.getByLabelText('Action')).toHaveAccessibleDescription(/Choose an action/);
    expect(calls).toHaveLength(0);
  });

  it('rejects user ids the server would refuse', async () => {
    mockFetch([]);
    const user = userEvent.setup();
    render(<RecordView />);
    const input = screen.getByLabelText('User id');
    await user.type(input, '0');
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    expect(input).toHaveAccessibleDescription(/1 or more/);
    await user.clear(input);
    await user.type(input, '6.5');
    expect(input).toHaveAccessibleDescription(/whole number/);
    await user.clear(input);
    await user.type(input, '9223372036854775808');
    expect(input).toHaveAccessibleDescription(/at most 9223372036854775807/);
  });

  it('validates the metadata as it is typed and points at the error', async () => {
    mockFetch([]);
    render(<RecordView />);
    await setMetadata('{\n  "ip": "10.0.0.1",\n  "tags": [1, 2,]\n}');
    const ta = screen.getByLabelText('Metadata (JSON object)');
    expect(ta).toHaveAttribute('aria-invalid', 'true');
    expect(ta).toHaveAccessibleDescription(/Line 3, column 17: expected a value but found "]"/);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Go to error' }));
    expect(ta).toHaveFocus();
    expect((ta as HTMLTextAreaElement).selectionStart).toBe('{\n  "ip": "10.0.0.1",\n  "tags": [1, 2,'.length);
    await setMetadata('[1]');
    expect(ta).toHaveAccessibleDescription(/must be a JSON object/);
    await setMetadata('{"ip":"10.0.0.1"}');
    expect(ta).not.toHaveAttribute('aria-invalid');
    expect(ta).toHaveAccessibleDescription(/Valid JSON object · 17 bytes/);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Format' }));
    expect(ta).toHaveValue('{\n  "ip": "10.0.0.1"\n}');
  });

  it('sends the event with the local offset and shows what was stored', async () => {
    const calls = mockFetch([
      ['/api/event', () => ({ status: 201, body: { ...event(42, { action: 'deleted' }), status: 'stored' } })],
    ]);
    const onShowUser = vi.fn();
    const user = userEvent.setup();
    render(<RecordView onShowUser={onShowUser} />);
    await fillValid(user);
    await setMetadata('{"ip": "192.168.1.10"}');
    expect(screen.getByText('2025-10-10T20:30:00+02:00')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    expect(await screen.findByRole('heading', { name: 'Stored as event 42' })).toBeInTheDocument();
    expect(calls).toHaveLength(1);
    expect(calls[0].method).toBe('POST');
    expect(calls[0].headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(calls[0].body!)).toEqual({
      user_id: 6,
      action: 'deleted',
      event_action_timestamp: '2025-10-10T20:30:00+02:00',
      metadata: { ip: '192.168.1.10' },
    });
    await user.click(screen.getByRole('button', { name: "Show user 6's events" }));
    expect(onShowUser).toHaveBeenCalledWith('6');
  });

  it('sends big user ids digit for digit, with a generated event id', async () => {
    const calls = mockFetch([['/api/event', () => ({ status: 201, body: { ...event(1), status: 'stored' } })]]);
    const user = userEvent.setup();
    render(<RecordView />);
    await fillValid(user);
    const uid = screen.getByLabelText('User id');
    await user.clear(uid);
    await user.type(uid, '9223372036854775807');
    await user.click(screen.getByRole('button', { name: 'Generate' }));
    expect((screen.getByLabelText('Event id (optional)') as HTMLInputElement).value).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    await screen.findByRole('heading', { name: 'Stored as event 1' });
    expect(calls[0].body).toMatch(/^\{"user_id": 9223372036854775807, /);
    expect(calls[0].body).toMatch(/"event_id": "[0-9a-f-]{36}"\}$/);
  });

  it('says when the same event was already recorded, not as a success', async () => {
    mockFetch([
      ['/api/event', () => ({ status: 200, body: { ...event(7, { action: 'deleted', metadata: {} }), status: 'duplicate' } })],
    ]);
    const user = userEvent.setup();
    render(<RecordView />);
    await fillValid(user);
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    const heading = await screen.findByRole('heading', { name: 'Already recorded: event 7 has this event id' });
    expect(heading.closest('section')).toHaveClass('result-info');
    expect(heading.closest('section')).not.toHaveClass('result-warn');
    expect(screen.getByText(/nothing was stored again/)).toBeInTheDocument();
  });

  it('warns when an event id comes back with other data: nothing was stored', async () => {
    // The stored event 457 was "viewed" with other metadata; this request
    // sends "deleted" with {"n": 2} under the same id.
    mockFetch([['/api/event', () => ({ status: 200, body: { ...event(457), status: 'duplicate' } })]]);
    const user = userEvent.setup();
    render(<RecordView />);
    await fillValid(user);
    await setMetadata('{"n": 2}');
    await user.type(screen.getByLabelText('Event id (optional)'), '0b9e6a3c-1d2f-4e5a-8b7c-9d0e1f2a3b4c');
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    const heading = await screen.findByRole('heading', { name: 'Not stored: event 457 already has this event id' });
    const card = heading.closest('section')!;
    expect(card).toHaveClass('result-warn');
    expect(card).toHaveTextContent('differs in action (stored: viewed, sent: deleted), metadata.');
    // The id stays: it is the user's to change.
    expect(screen.getByLabelText('Event id (optional)')).toHaveValue('0b9e6a3c-1d2f-4e5a-8b7c-9d0e1f2a3b4c');
    expect(screen.getAllByRole('status').some((x) => /^Not stored: event 457/.test(x.textContent ?? ''))).toBe(true);
  });

  it('gives the next event a new id once one is stored', async () => {
    const calls = mockFetch([['/api/event', () => ({ status: 201, body: { ...event(8), status: 'stored' } })]]);
    const user = userEvent.setup();
    render(<RecordView />);
    await fillValid(user);
    await user.click(screen.getByRole('button', { name: 'Generate' }));
    const idField = screen.getByLabelText('Event id (optional)') as HTMLInputElement;
    const first = idField.value;
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    const heading = await screen.findByRole('heading', { name: 'Stored as event 8' });
    expect(JSON.parse(calls[0].body!).event_id).toBe(first);
    expect(idField.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(idField.value).not.toBe(first);
    expect(idField).toHaveAccessibleDescription('A new id for the next event: the last one is spent.');
    // Focus goes to the answer (the page scrolls it into view), and it is said.
    await waitFor(() => expect(heading).toHaveFocus());
    expect(screen.getAllByRole('status').some((x) => x.textContent === 'Stored as event 8.')).toBe(true);
  });

  it("shows the server's error next to the field it names", async () => {
    mockFetch([
      [
        '/api/event',
        () =>
          problem(
            400,
            'Bad Request',
            'Field "event_action_timestamp" must not be more than 1 day in the future.',
            'event_action_timestamp',
          ),
      ],
    ]);
    const user = userEvent.setup();
    render(<RecordView />);
    await fillValid(user);
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    const when = screen.getByLabelText('When the user acted');
    await waitFor(() => expect(when).toHaveAccessibleDescription(/more than 1 day in the future/));
    expect(when).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByRole('alert')).toBeNull();
    // Editing the field clears the server's complaint about it.
    await user.clear(when);
    await user.type(when, '2025-10-10T20:31:00');
    expect(when).not.toHaveAttribute('aria-invalid');
  });

  it('shows errors that name no field, or no answer at all, in a banner', async () => {
    let reply: () => ReturnType<typeof problem> | Error = () => problem(503, 'Service Unavailable', 'database unavailable');
    mockFetch([['/api/event', () => reply()]]);
    const user = userEvent.setup();
    render(<RecordView />);
    await fillValid(user);
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Service Unavailable: database unavailable');
    reply = () => new TypeError('Failed to fetch');
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent(/Cannot reach the API/));
  });

  it('is busy while the request is in flight', async () => {
    let release: () => void = () => {};
    const calls = mockFetch([
      [
        '/api/event',
        () => new Promise((r) => (release = () => r({ status: 201, body: { ...event(3), status: 'stored' } }))),
      ],
    ]);
    const user = userEvent.setup();
    render(<RecordView />);
    await fillValid(user);
    await user.click(screen.getByRole('button', { name: 'Record event' }));
    // Not disabled, so that it keeps the focus; a second press sends nothing.
    const busy = screen.getByRole('button', { name: 'Recording…' });
    expect(busy).toHaveAttribute('aria-disabled', 'true');
    expect(busy).toHaveFocus();
    await user.click(busy);
    release();
    await screen.findByRole('heading', { name: 'Stored as event 3' });
    expect(calls).toHaveLength(1);
    expect(screen.getByRole('button', { name: 'Record event' })).toBeEnabled();
  });
});
