/**
 * Progress of a long step. On a terminal, one live line rewritten in place (with the time so far); in a
 * pipe or CI, plain lines: the start, a line at most every PLAIN_EVERY_MS while it runs, and the end.
 */
import { colours } from './colour.js';

const TICK_MS = 1000;
const PLAIN_EVERY_MS = 10_000;

export interface Progress {
  /** A step begins: `label` says what (e.g. `[2/5] create disk d2`). */
  start(label: string): void;
  /** How far the running step is (e.g. `1.2 GiB of 4.0 GiB`). */
  update(text: string): void;
  /** The running step ended: its last line. */
  done(line: string): void;
  /** Any other line, printed above the live line. */
  log(line: string): void;
  /** No step is running any more: the live line goes, nothing is printed. */
  finish(): void;
}

export function progress(stream: NodeJS.WriteStream = process.stdout, now: () => number = Date.now): Progress {
  return stream.isTTY ? live(stream, now) : plainLines(stream, now);
}

function live(stream: NodeJS.WriteStream, now: () => number): Progress {
  const c = colours(stream);
  let label: string | undefined;
  let text = '';
  let started = 0;
  let timer: NodeJS.Timeout | undefined;
  let drawn = 0;
  const clear = '\r\x1b[K';
  const draw = () => {
    if (label === undefined) return;
    drawn = now();
    const line = `${label} ${c.dim(`${text ? `${text}, ` : ''}${Math.round((now() - started) / 1000)} s`)}`;
    // Never wider than the terminal: a wrapped live line could not be rewritten in place.
    stream.write(
      `${clear}${line.length > (stream.columns || 80) - 1 ? `${label.slice(0, (stream.columns || 80) - 2)}…` : line}`,
    );
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return {
    start(l) {
      stop();
      label = l;
      text = '';
      started = now();
      draw();
      timer = setInterval(draw, TICK_MS);
      timer.unref();
    },
    update(t) {
      text = t;
      // Updates can come per MiB hashed: the terminal gets at most ten a second.
      if (now() - drawn >= 100) draw();
    },
    done(line) {
      stop();
      label = undefined;
      stream.write(`${clear}${line}\n`);
    },
    log(line) {
      stream.write(`${label === undefined ? '' : clear}${line}\n`);
      draw();
    },
    finish() {
      stop();
      if (label !== undefined) stream.write(clear);
      label = undefined;
    },
  };
}

function plainLines(stream: NodeJS.WriteStream, now: () => number): Progress {
  let label = '';
  let lastLine = 0;
  return {
    start(l) {
      label = l;
      lastLine = now();
      stream.write(`${l} ...\n`);
    },
    update(text) {
      if (now() - lastLine < PLAIN_EVERY_MS) return;
      lastLine = now();
      stream.write(`${label}: ${text}\n`);
    },
    done(line) {
      stream.write(`${line}\n`);
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    finish() {
      label = '';
    },
  };
}
