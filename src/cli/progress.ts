/** A one-line progress bar for a person watching a long run at a terminal; silent otherwise. */
export class Progress {
  private last = 0;
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
    private readonly enabled: boolean,
  ) {}

  static MIN_MESSAGES = 20;

  update(done: number, total: number): void {
    if (!this.enabled || total < Progress.MIN_MESSAGES) return;
    const now = Date.now();
    if (done < total && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    this.stream.write(`\r${this.label} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
