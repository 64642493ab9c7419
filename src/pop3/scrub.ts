/** What a secret is replaced with wherever server text would show it. */
export const MASK = '****';

/**
 * Secrets and the forms they took on the wire, struck from server text. A server may
 * echo what it was sent ("-ERR [AUTH] bad password hunter2", or the base64 of an AUTH
 * PLAIN blob); that text goes into errors, logs, --json and the state database, where
 * the password must never be. Forms shorter than MIN_LENGTH are not struck: a password
 * of "1" would otherwise turn every "1" in every reply into the mask.
 */
const MIN_LENGTH = 3;

export class SecretScrubber {
  /** Longest first, so that a form containing another is struck whole. */
  private forms: string[] = [];

  /** A secret, and its base64 (what SASL mechanisms carry). */
  addSecret(secret: string): void {
    this.addForm(secret);
    this.addForm(Buffer.from(secret, 'utf8').toString('base64'));
  }

  /** One exact string that went on the wire and must not come back (an AUTH line's payload). */
  addForm(form: string): void {
    if (form.length < MIN_LENGTH || this.forms.includes(form)) return;
    this.forms.push(form);
    this.forms.sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.forms.length === 0;
  }

  scrub(text: string): string {
    let out = text;
    for (const form of this.forms) if (out.includes(form)) out = out.split(form).join(MASK);
    return out;
  }
}
