// The SSE parser on its own: the format's line endings, fields and edge cases, fed in every possible split.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSseParser } from '../src/sse.js';

function parse(chunks) {
  const events = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

/** The same text fed whole, one character at a time, and split at every position. */
function parseAllWays(text) {
  const whole = parse([text]);
  assert.deepEqual(parse([...text]), whole, 'one character at a time');
  for (let i = 1; i < text.length; i++) assert.deepEqual(parse([text.slice(0, i), text.slice(i)]), whole, `split at ${i}`);
  return whole;
}

describe('createSseParser', () => {
  it('reads Tessera\'s events: a ping, then session.revoked', () => {
    const events = parseAllWays(
      'event: ping\ndata: {"at":"2026-12-07T07:00:00.1234567Z"}\n\n'
      + 'event: session.revoked\ndata: {"sessionId":"ses_1","reason":"user_banned","message":"Your account has been banned."}\n\n');
    assert.deepEqual(events.map((e) => e.type), ['ping', 'session.revoked']);
    assert.equal(JSON.parse(events[1].data).reason, 'user_banned');
  });

  it('accepts LF, CRLF and CR line endings alike', () => {
    const lf = parseAllWays('event: a\ndata: 1\n\nevent: b\ndata: 2\n\n');
    assert.deepEqual(parseAllWays('event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n'), lf);
    assert.deepEqual(parseAllWays('event: a\rdata: 1\r\revent: b\rdata: 2\r\r'), lf);
  });

  it('joins data lines with a newline and defaults the type to message', () => {
    const [event] = parseAllWays('data: one\ndata:two\ndata\n\n');
    assert.equal(event.type, 'message');
    assert.equal(event.data, 'one\ntwo\n');
  });

  it('skips comments, unknown fields and events without data; keeps the last id; reads retry', () => {
    const events = parseAllWays(': keep-alive\n\nevent: nothing\n\nid: 7\nfoo: bar\nretry: 1500\ndata: x\n\ndata: y\n\nretry: soon\ndata: z\n\n');
    assert.deepEqual(events.map((e) => [e.data, e.id, e.retry]), [['x', '7', 1500], ['y', '7', undefined], ['z', '7', undefined]]);
  });

  it('strips one leading space of a value only, and a byte order mark at the start', () => {
    const [event] = parseAllWays('\ufeffevent:  spaced\ndata:  two spaces\n\n');
    assert.equal(event.type, ' spaced');
    assert.equal(event.data, ' two spaces');
  });

  it('drops an event the stream ended in the middle of', () => {
    assert.deepEqual(parse(['event: ping\ndata: {}\n\nevent: session.revoked\ndata: {"reason":"x"}\n']).map((e) => e.type), ['ping']);
  });
});
