// Progress of a benchmark run, for a person watching it. On a terminal: one status line rewritten
// in place every second (row i of n, the cell being measured, elapsed time, an estimate of the
// time left). Otherwise (a pipe, a CI log): one plain line per finished row with the same figures.
//
// The estimate: a row's expected duration is its duration in the last saved run (`guess`), scaled
// by how this run compares with that one so far; a row never measured before is expected to take
// as long per measurement as the measurements so far did.

/** `m:ss` (or `h:mm:ss`). */
export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export class Progress {
  #rows;
  #cells;
  #stream;
  #tty;
  #now;
  #t0;
  #index = -1;
  #rowStart = 0;
  #cell = '';
  #cellsStarted = 0;
  #actual = [];
  #ticker = null;

  /**
   * @param {object} o
   * @param {{ name: string, guess: number | null }[]} o.rows  every row of the run, in order;
   *   `guess`: seconds it took last time, or null
   * @param {number} o.cells  measurements per row (repeat × targets)
   * @param {NodeJS.WritableStream & { isTTY?: boolean }} o.stream  where to write
   * @param {() => number} [o.now]  seconds on a monotonic clock (tests pass their own)
   */
  constructor({ rows, cells, stream, now = () => performance.now() / 1000 }) {
    this.#rows = rows;
    this.#cells = cells;
    this.#stream = stream;
    this.#tty = Boolean(stream.isTTY);
    this.#now = now;
    this.#t0 = now();
    if (this.#tty && rows.length) {
      this.#ticker = setInterval(() => this.#draw(), 1000);
      this.#ticker.unref();
    }
  }

  startRow(name) {
    this.#index++;
    if (this.#rows[this.#index]?.name !== name) throw new Error(`progress: expected row ${this.#rows[this.#index]?.name}, got ${name}`);
    this.#rowStart = this.#now();
    this.#cell = '';
    this.#cellsStarted = 0;
    this.#draw();
  }

  /** A measurement of the current row starts (`label`: e.g. "native 2/3"). */
  cell(label) {
    this.#cell = label;
    this.#cellsStarted++;
    this.#draw();
  }

  /** The current row finished; returns the seconds it took. */
  endRow() {
    const took = this.#now() - this.#rowStart;
    this.#actual[this.#index] = took;
    this.#cell = '';
    const row = this.#rows[this.#index];
    if (!this.#tty) {
      this.#stream.write(`[${this.#index + 1}/${this.#rows.length}] ${row.name}: ${took.toFixed(1)} s (${this.#summary()})\n`);
    }
    return took;
  }

  /** Writes `text` (a child's stderr, a note) without tearing the status line. */
  log(text) {
    if (this.#tty) this.#stream.write('\r\x1b[2K');
    this.#stream.write(text.endsWith('\n') ? text : `${text}\n`);
    this.#draw();
  }

  done() {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
    if (this.#tty) this.#stream.write('\r\x1b[2K');
    this.#stream.write(`${this.#rows.length} rows in ${clock(this.#now() - this.#t0)}\n`);
  }

  /** Seconds left, or null while nothing is known to base it on. */
  remaining() {
    const now = this.#now();
    // How this run compares with the saved one, over the rows both have; and the average
    // measurement so far, for rows never measured before.
    let guessed = 0;
    let took = 0;
    let doneRows = 0;
    let doneSeconds = 0;
    for (let i = 0; i < this.#actual.length; i++) {
      if (this.#actual[i] === undefined) continue;
      doneRows++;
      doneSeconds += this.#actual[i];
      const g = this.#rows[i].guess;
      if (g) {
        guessed += g;
        took += this.#actual[i];
      }
    }
    const perCell = doneRows ? doneSeconds / (doneRows * this.#cells) : null;
    const scale = guessed > 0 ? took / guessed : 1;
    const expected = (row) => (row.guess ? row.guess * scale : perCell !== null ? perCell * this.#cells : null);
    let left = 0;
    for (let i = Math.max(0, this.#index); i < this.#rows.length; i++) {
      if (this.#actual[i] !== undefined) continue;
      const e = expected(this.#rows[i]);
      if (e === null) return null;
      // The current row: what its expected time leaves, but at least its measurements not started.
      const notStarted = ((this.#cells - this.#cellsStarted) * e) / this.#cells;
      left += i === this.#index ? Math.max(notStarted, e - (now - this.#rowStart)) : e;
    }
    return left;
  }

  #summary() {
    const left = this.remaining();
    return `${clock(this.#now() - this.#t0)} elapsed, ${left === null ? 'estimating' : `~${clock(left)} left`}`;
  }

  #draw() {
    if (!this.#tty || this.#index < 0) return;
    const row = this.#rows[this.#index];
    const cell = this.#cell ? ` · ${this.#cell}` : '';
    const line = `[${this.#index + 1}/${this.#rows.length}] ${row.name}${cell} · ${this.#summary()}`;
    const width = this.#stream.columns ?? 120;
    this.#stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
  }
}
