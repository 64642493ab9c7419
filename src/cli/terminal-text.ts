/**
 * Text for a person's terminal. Much of what pinchmail prints comes from elsewhere: a
 * server's replies (errors, CAPA, UIDLs), a delivery command's stderr, a message's
 * headers. A terminal acts on control characters instead of showing them: ESC starts
 * sequences that clear the screen, retitle the window or rewrite what was printed
 * before; CR and backspace overwrite a line; C1's CSI (U+009B) is ESC [ on some
 * terminals; bidi overrides reorder text so that it reads as something else. Each is
 * shown as a visible escape instead, so the person sees what was sent and nothing
 * sent can act. Newline and tab stay: our own output is laid out with them.
 *
 * JSON output needs none of this: JSON.stringify escapes every C0 control, and a
 * program reading it wants the original text.
 */

/** C0 but \t and \n, DEL, C1, and the bidi embeddings, overrides and isolates (the "Trojan Source" set). */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * The text with every control a terminal would act on written as `\x1b`, `\r`,
 * `\u202e`... CR gets its usual name since it is the common one (CRLF from servers).
 * An escape is itself printable, so the function may run twice over the same text.
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, (char) => (char === '\r' ? '\\r' : visible(char)));
}
