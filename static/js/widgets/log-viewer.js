// Live build log: streams over the run's WebSocket (backlog after the last seq, then live),
// follows the end unless paused, folds steps ("==> step" … "<== step done in 1.20 s") with
// their durations, searches, wraps, toggles timestamps, downloads, jumps to the first error.
import { api } from "../api.js";
import { LiveSocket } from "../socket.js";
import { h } from "../ui.js";

const STEP_START = /^==> (.+?)(?::.*)?$/;
const STEP_END = /^<== (.+?) done(?: in ([\d.]+) s)?/;
const ERROR_LINE = /^(Build failed:|ERROR|error:)|\bfailed\b/i;

// Why the server ended the live log (the socket's close code); the page stops retrying then.
export function closedReason(code) {
  if (code === 4401) return gettext("Your session has ended: sign in again to follow the log.");
  if (code === 4403) return gettext("You no longer have access to this build.");
  return gettext("Disconnected");
}

export class LogViewer {
  // paths: {socket: "/ws/.../log/", text: ".../log.txt"}; onState(stateMessage)
  constructor({ paths, onState = () => {}, height }) {
    this.paths = paths;
    this.onState = onState;
    this.follow = true;
    this.lineCount = 0;
    this.firstError = null;
    this.openStep = null;
    this.matches = [];
    this.matchIndex = -1;
    this.build(height);
  }

  build(height) {
    this.body = h("div", {
      class: "log-body",
      role: "log",
      "aria-live": "off",
      tabindex: "0",
      "data-testid": "log-body",
      "aria-label": gettext("Build log"),
    });
    if (height) this.body.style.height = height;
    this.followButton = h(
      "button",
      { type: "button", "aria-pressed": "true", onclick: () => this.setFollow(!this.follow) },
      gettext("Follow"),
    );
    this.search = h("input", {
      type: "search",
      placeholder: gettext("Search log"),
      "aria-label": gettext("Search log"),
    });
    this.search.addEventListener("input", () => this.runSearch());
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.nextMatch();
      }
    });
    this.status = h(
      "span",
      { class: "log-status", "aria-live": "polite", "data-testid": "log-status" },
      gettext("Connecting…"),
    );
    const wrap = h("input", { type: "checkbox", checked: true });
    wrap.addEventListener("change", () => this.body.classList.toggle("nowrap", !wrap.checked));
    const stamps = h("input", { type: "checkbox", checked: true });
    stamps.addEventListener("change", () => this.body.classList.toggle("hide-ts", !stamps.checked));
    this.toolbar = h(
      "div",
      { class: "log-toolbar" },
      this.followButton,
      this.search,
      h("button", { type: "button", onclick: () => this.nextMatch() }, gettext("Find next")),
      h("label", {}, wrap, gettext("Wrap")),
      h("label", {}, stamps, gettext("Timestamps")),
      h("button", { type: "button", onclick: () => this.jumpToError() }, gettext("First error")),
      h(
        "a",
        {
          class: "button small",
          href: this.paths.text,
          download: "",
          style: "padding:3px 8px;font-size:12px",
        },
        gettext("Download"),
      ),
      this.status,
    );
    this.element = h("div", { class: "log-viewer" }, this.toolbar, this.body);
    // Scrolling up by hand pauses following, like a terminal; scrolling to the end resumes.
    this.body.addEventListener("scroll", () => {
      const atEnd = this.body.scrollTop + this.body.clientHeight >= this.body.scrollHeight - 4;
      if (!atEnd && this.follow && !this.autoScrolling) this.setFollow(false);
    });
  }

  setFollow(on) {
    this.follow = on;
    this.followButton.setAttribute("aria-pressed", String(on));
    this.followButton.textContent = on ? gettext("Follow") : gettext("Paused");
    if (on) this.scrollToEnd();
  }

  start() {
    this.socket = new LiveSocket({
      urlFor: (seq) => `${this.paths.socket}?after=${seq}`,
      onMessage: (message) => this.handle(message),
      onStatus: (status, code) => {
        if (status === "reconnecting") this.status.textContent = gettext("Reconnecting…");
        if (status === "closed") this.status.textContent = closedReason(code);
        if (status === "unavailable") this.poll();
      },
    }).open();
    return this;
  }

  stop() {
    this.stopped = true;
    this.socket?.close();
    clearTimeout(this.pollTimer);
  }

  // Without WebSocket: the same lines from GET …/log/?after=<seq> every 2 s until finished.
  async poll() {
    const url = this.paths.poll || this.paths.text.replace(/log\.txt$/, "log/");
    this.polling = true;
    this.status.textContent = gettext("Polling");
    let lastState = null;
    while (!this.stopped) {
      try {
        const page = await api.get(`${url}?after=${this.socket.lastSeq}`);
        if (page.lines.length) {
          this.socket.advanceTo(page.last_seq);
          this.handle({ type: "lines", lines: page.lines });
        }
        if (page.state !== lastState) {
          lastState = page.state;
          this.handle({ type: "state", state: page.state });
        }
        if (page.more) continue;
        if (page.finished) return;
      } catch {
        this.status.textContent = gettext("Reconnecting…");
      }
      await new Promise((resolve) => {
        this.pollTimer = setTimeout(resolve, 2000);
      });
    }
  }

  handle(message) {
    if (message.type === "lines") {
      message.lines.forEach((line) => this.append(line));
      if (this.follow) this.scrollToEnd();
      if (this.search.value) this.runSearch(false);
    } else if (message.type === "state") {
      const finished = ["successful", "failed", "cancelled"].includes(message.state);
      const queued = message.state === "pending";
      this.status.textContent = finished
        ? gettext("Finished")
        : queued
          ? gettext("Queued")
          : this.polling
            ? gettext("Polling")
            : gettext("Live");
      this.showWaiting(queued && this.lineCount === 0);
      this.onState(message);
    }
  }

  // A queued run has no log yet: say why the log is empty instead of showing nothing.
  showWaiting(on) {
    if (on && !this.waiting) {
      this.waiting = h(
        "div",
        { class: "log-waiting muted", "data-testid": "log-waiting" },
        gettext("Queued: waiting for a worker to pick this run up…"),
      );
      this.body.append(this.waiting);
    } else if (!on && this.waiting) {
      this.waiting.remove();
      this.waiting = null;
    }
  }

  append(line) {
    this.showWaiting(false);
    this.lineCount += 1;
    const time = new Date(line.time);
    const stamp = Number.isNaN(time.getTime())
      ? ""
      : time.toLocaleTimeString(document.documentElement.lang || undefined, { hourCycle: "h23" });
    const row = h(
      "div",
      { class: "log-line", dataset: { seq: line.seq } },
      h("span", { class: "ts" }, stamp),
      line.text,
    );
    const start = line.text.match(STEP_START);
    const end = line.text.match(STEP_END);
    if (ERROR_LINE.test(line.text)) {
      row.classList.add("error");
      if (!this.firstError) this.firstError = row;
    }
    if (start) {
      const summary = h("summary", {}, line.text.replace(/^==> /, ""));
      this.openStep = {
        details: h("details", { class: "log-step", open: true }, summary),
        summary,
      };
      this.body.append(this.openStep.details);
      return;
    }
    if (end && this.openStep) {
      this.openStep.details.append(row);
      if (end[2])
        this.openStep.summary.append(h("span", { class: "dur" }, `${Number(end[2]).toFixed(2)} s`));
      // Finished steps fold away unless they hold an error, so the log reads as a list of steps.
      if (!this.openStep.details.querySelector(".error")) this.openStep.details.open = false;
      this.openStep = null;
      return;
    }
    (this.openStep ? this.openStep.details : this.body).append(row);
  }

  scrollToEnd() {
    this.autoScrolling = true;
    this.body.scrollTop = this.body.scrollHeight;
    requestAnimationFrame(() => {
      this.autoScrolling = false;
    });
  }

  runSearch(jump = true) {
    for (const row of this.matches) row.classList.remove("match", "current-match");
    const text = this.search.value.toLowerCase();
    this.matches = text
      ? [...this.body.querySelectorAll(".log-line")].filter((r) =>
          r.textContent.toLowerCase().includes(text),
        )
      : [];
    this.matches.forEach((row) => row.classList.add("match"));
    this.matchIndex = -1;
    if (jump && this.matches.length) this.nextMatch();
  }

  nextMatch() {
    if (!this.matches.length) return;
    this.matches[this.matchIndex]?.classList.remove("current-match");
    this.matchIndex = (this.matchIndex + 1) % this.matches.length;
    this.reveal(this.matches[this.matchIndex]);
    this.matches[this.matchIndex].classList.add("current-match");
  }

  jumpToError() {
    if (this.firstError) this.reveal(this.firstError);
  }

  reveal(row) {
    this.setFollow(false);
    const details = row.closest("details");
    if (details) details.open = true;
    row.scrollIntoView({ block: "center" });
  }

  text() {
    return [...this.body.querySelectorAll(".log-line")]
      .map((r) => r.lastChild.textContent)
      .join("\n");
  }
}
