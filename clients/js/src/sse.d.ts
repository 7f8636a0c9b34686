/** One event of a text/event-stream. */
export interface SseEvent {
  /** The `event:` field, or "message". */
  type: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last `id:` seen on the stream (it carries over to later events), if any. */
  id: string | undefined;
  /** The `retry:` of this event, in milliseconds, if any. */
  retry: number | undefined;
}

export interface SseParser {
  /** Feeds decoded text; lines may be split anywhere between calls. */
  push(text: string): void;
  /** The stream ended; an unterminated event is dropped. */
  end(): void;
}

/** A minimal Server-Sent Events parser (HTML standard, "Interpreting an event stream"). */
export function createSseParser(onEvent: (event: SseEvent) => void): SseParser;
