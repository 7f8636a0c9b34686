// A minimal Server-Sent Events parser (the event-stream format of the HTML standard, section 9.2.6): text in, events
// out. For a streaming fetch where there is no EventSource (Node, Electron's main process) or where a header must be
// sent (a Bearer token).

/**
 * @typedef {{ type: string, data: string, id: string | undefined, retry: number | undefined }} SseEvent
 * @param {(event: SseEvent) => void} onEvent called for each complete event, in order
 */
export function createSseParser(onEvent) {
  let buffer = '';
  let first = true;
  let pendingCr = false;
  let type = '';
  let data = [];
  let hasData = false;
  let id;
  let retry;

  const dispatch = () => {
    if (hasData) {
      onEvent({ type: type || 'message', data: data.join('\n'), id, retry });
    }
    type = '';
    data = [];
    hasData = false;
    retry = undefined;
  };

  const line = (text) => {
    if (text === '') {
      dispatch();
      return;
    }
    if (text.startsWith(':')) return; // a comment
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event': type = value; break;
      case 'data': data.push(value); hasData = true; break;
      case 'id': if (!value.includes('\0')) id = value; break;
      case 'retry': if (/^\d+$/.test(value)) retry = Number(value); break;
      default: break; // unknown fields are ignored
    }
  };

  return {
    /** Feeds decoded text; lines may be split anywhere between calls. */
    push(text) {
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      // A CR that ended the previous chunk may be the first half of CRLF.
      if (pendingCr && text.startsWith('\n')) text = text.slice(1);
      pendingCr = false;
      buffer += text;
      let start = 0;
      for (;;) {
        const cr = buffer.indexOf('\r', start);
        const lf = buffer.indexOf('\n', start);
        if (cr < 0 && lf < 0) break;
        const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
        line(buffer.slice(start, end));
        if (buffer[end] === '\r') {
          if (end + 1 < buffer.length) {
            start = buffer[end + 1] === '\n' ? end + 2 : end + 1;
          } else {
            pendingCr = true;
            start = end + 1;
          }
        } else {
          start = end + 1;
        }
      }
      buffer = buffer.slice(start);
    },
    /** The stream ended: an event not closed by a blank line is dropped, as the standard says. */
    end() {
      buffer = '';
      type = '';
      data = [];
      hasData = false;
    },
  };
}
