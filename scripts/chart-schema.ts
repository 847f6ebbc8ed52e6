// npm run chart:schema: writes manifests/pando-webhook/values.schema.json from the zod values
// schema (scripts/chart-values.ts). A test fails when the committed file differs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { valuesJsonSchema } from './chart-values';

export const SCHEMA_FILE = join(__dirname, '..', '..', 'manifests', 'pando-webhook', 'values.schema.json');
export const schemaText = () => `${JSON.stringify(valuesJsonSchema(), null, 2)}\n`;

if (require.main === module) {
  writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
