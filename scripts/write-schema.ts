/**
 * Writes schema/pinchmail.schema.json from the shapes the loader validates with
 * (src/config/schema.ts). Run `npm run schema` after changing them; a test fails
 * when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/schema.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../schema/pinchmail.schema.json', import.meta.url));

export function schemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
