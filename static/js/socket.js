// A WebSocket that reconnects with backoff and resumes from the last sequence number it saw,
// so a dropped connection neither loses nor duplicates log lines (the server sends the backlog
// after `seq`, then live messages). When it never connects, it reports "unavailable" and the
// caller falls back to polling.

export const REFUSED = new Set([4401, 4403, 4404]);

export function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

export class LiveSocket {
  // urlFor(lastSeq) -> ws path; onMessage(msg); onStatus("live"|"reconnecting"|"closed")
  constructor({ urlFor, onMessage, onStatus = () => {}, subscribeMessage = null }) {
    this.urlFor = urlFor;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.subscribeMessage = subscribeMessage;
    this.lastSeq = 0;
    this.attempt = 0;
    this.closed = false;
    this.ws = null;
    this.timer = null;
    this.everLive = false;
    this.giveUpAfter = 3;
  }

  open() {
    this.closed = false;
    const ws = new WebSocket(socketUrl(this.urlFor(this.lastSeq)));
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.everLive = true;
      this.onStatus("live");
      if (this.subscribeMessage) ws.send(JSON.stringify(this.subscribeMessage(this.lastSeq)));
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      // Lines at or below lastSeq were already shown (a reconnect race): drop them.
      if (Array.isArray(message.lines)) {
        message.lines = message.lines.filter((line) => line.seq > this.lastSeq);
        if (!message.lines.length) return;
        this.lastSeq = message.lines[message.lines.length - 1].seq;
      }
      this.onMessage(message);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      // Refused by the server (4401 not signed in, 4403 no access, 4404 gone): retrying cannot
      // help, so stop and let the page say why.
      if (this.closed || REFUSED.has(event.code)) {
        this.onStatus("closed", event.code);
        return;
      }
      // Never connected after a few tries: a proxy without WebSocket support, most likely.
      if (!this.everLive && this.attempt >= this.giveUpAfter) {
        this.closed = true;
        this.onStatus("unavailable");
        return;
      }
      this.onStatus("reconnecting");
      const delay = Math.min(10000, 500 * 2 ** this.attempt++);
      this.timer = setTimeout(() => this.open(), delay);
    };
    return this;
  }

  advanceTo(seq) {
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}
