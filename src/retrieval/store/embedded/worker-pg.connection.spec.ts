import { serialize } from 'pg-protocol';
import type { BackendMessage, ProtocolExchange } from './worker-pg.connection.js';
import { WorkerPgConnection } from './worker-pg.connection.js';

/** A store that records each exchange and answers what the test queued for it. */
class RecordingStore implements ProtocolExchange {
  readonly exchanges: Array<{ bytes: Buffer; owned: boolean }> = [];
  answers: Array<BackendMessage[] | Error> = [];
  ready: Promise<void> = Promise.resolve();

  exchange(bytes: Buffer, owned: boolean): Promise<BackendMessage[]> {
    this.exchanges.push({ bytes: Buffer.from(bytes), owned });
    const answer = this.answers.shift() ?? [];
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }
}

/** The type bytes of the protocol messages in `bytes`, walking their length fields (fails on a torn message). */
function messageTypes(bytes: Buffer): string {
  let types = '';
  for (let at = 0; at < bytes.length; ) {
    const length = bytes.readInt32BE(at + 1);
    if (at + 1 + length > bytes.length) throw new Error(`torn message at ${at}`);
    types += String.fromCharCode(bytes[at]);
    at += 1 + length;
  }
  return types;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe(WorkerPgConnection.name, () => {
  it('sends a statement (Parse, Bind, Describe, Execute, Sync) in one exchange, as pg-protocol writes it', async () => {
    const store = new RecordingStore();
    const connection = new WorkerPgConnection(store);
    const vector = `[${Array.from({ length: 1536 }, (_, i) => (i / 1536).toFixed(6)).join(',')}]`;
    const bind = { values: [vector, '10'] };
    connection.parse({ text: 'SELECT $1::vector, $2::int' });
    connection.bind(bind);
    connection.describe({ type: 'P', name: '' });
    connection.execute({});
    expect(store.exchanges).toHaveLength(0);
    connection.sync();
    await settle();
    expect(store.exchanges).toHaveLength(1);
    const [{ bytes, owned }] = store.exchanges;
    expect(messageTypes(bytes)).toBe('PBDES');
    // The same bytes node-postgres writes on a socket.
    expect(bytes).toEqual(
      Buffer.concat([
        serialize.parse({ text: 'SELECT $1::vector, $2::int' }),
        serialize.bind(bind),
        serialize.describe({ type: 'P', name: '' }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    expect(owned).toBe(true);
  });

  it('sends a simple query alone, as bytes it does not own (pg-protocol may share them)', async () => {
    const store = new RecordingStore();
    const connection = new WorkerPgConnection(store);
    connection.query('SELECT 1');
    connection.sync();
    await settle();
    expect(store.exchanges.map((e) => [messageTypes(e.bytes), e.owned])).toEqual([
      ['Q', false],
      ['S', false],
    ]);
  });

  it('a value that cannot be converted fails its Bind without leaving bytes behind for the next statement', async () => {
    const store = new RecordingStore();
    const connection = new WorkerPgConnection(store);
    connection.parse({ text: 'SELECT $1::text' });
    const unsendable = { values: [{}], valueMapper: (): unknown => { throw new Error('cannot send this value'); } };
    expect(() => connection.bind(unsendable)).toThrow('cannot send this value');
    // What node-postgres does then: close the statement and sync.
    connection.close({ type: 'S', name: '' });
    connection.sync();
    connection.parse({ text: 'SELECT $1::text' });
    connection.bind({ values: ['still here'] });
    connection.describe({ type: 'P', name: '' });
    connection.execute({});
    connection.sync();
    await settle();
    expect(store.exchanges.map((e) => messageTypes(e.bytes))).toEqual(['PCS', 'PBDES']);
    expect(store.exchanges[1].bytes.includes(Buffer.from('still here'))).toBe(true);
  });

  it('emits the answers in order, under their names (an error as errorMessage), and message events when listened to', async () => {
    const store = new RecordingStore();
    const connection = new WorkerPgConnection(store);
    const seen: string[] = [];
    for (const name of ['parseComplete', 'rowDescription', 'dataRow', 'errorMessage', 'readyForQuery']) connection.on(name, () => seen.push(name));
    const messages: string[] = [];
    connection.on('message', (m: { name: string }) => messages.push(m.name));
    store.answers = [[{ name: 'parseComplete' }, { name: 'rowDescription' }, { name: 'dataRow' }], [{ name: 'error', message: 'boom' }, { name: 'readyForQuery' }]];
    connection.query('SELECT 1');
    connection.query('SELECT 2');
    await settle();
    expect(seen).toEqual(['parseComplete', 'rowDescription', 'dataRow', 'errorMessage', 'readyForQuery']);
    expect(messages).toEqual(['parseComplete', 'rowDescription', 'dataRow', 'error', 'readyForQuery']);
  });

  it('turns a failed exchange (a worker gone) into an error event, and later statements still go out', async () => {
    const store = new RecordingStore();
    const connection = new WorkerPgConnection(store);
    const errors: unknown[] = [];
    connection.on('error', (error) => errors.push(error));
    store.answers = [new Error('the worker exited'), [{ name: 'readyForQuery' }]];
    connection.query('SELECT 1');
    connection.query('SELECT 2');
    await settle();
    expect(errors).toEqual([new Error('the worker exited')]);
    expect(store.exchanges).toHaveLength(2);
  });

  it('is ready for queries once the store is, and reports a store that cannot open as an error', async () => {
    const ready = new RecordingStore();
    const connection = new WorkerPgConnection(ready);
    const events: string[] = [];
    connection.on('readyForQuery', () => events.push('ready'));
    connection.connect();
    expect(connection._connecting).toBe(true);
    await settle();
    expect(events).toEqual(['ready']);

    const failing = new RecordingStore();
    failing.ready = Promise.reject(new Error('could not open DATA_DIR'));
    const refused = new WorkerPgConnection(failing);
    const errors: unknown[] = [];
    refused.on('error', (error) => errors.push(error));
    refused.connect();
    await settle();
    expect(errors).toEqual([new Error('could not open DATA_DIR')]);
  });

  it('ends after the exchanges already queued, dropping messages held without a Sync', async () => {
    const store = new RecordingStore();
    const connection = new WorkerPgConnection(store);
    connection.query('SELECT 1');
    connection.parse({ text: 'SELECT 2' });
    connection.end();
    let ended = false;
    connection.once('end', () => (ended = true));
    await settle();
    expect(ended).toBe(true);
    connection.sync();
    await settle();
    expect(store.exchanges.map((e) => messageTypes(e.bytes))).toEqual(['Q', 'S']);
  });
});
