import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/**
 * The Prometheus text format read back by a parser that is not ours: the official
 * Python client's (Debian's python3-prometheus-client), which raises on anything
 * malformed. Debian's own python3, not whichever one PATH finds first.
 */
const PYTHON = '/usr/bin/python3';
const PARSER = '/usr/lib/python3/dist-packages/prometheus_client/parser.py';

export const prometheusParserMissing = (): string | null =>
  existsSync(PARSER) ? null : 'the Prometheus text-format parser is missing (apt-get install python3-prometheus-client)';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

/** Parses `text`; throws with the parser's words when it is not valid. */
export function parsePrometheus(text: string): Family[] {
  const run = spawnSync(PYTHON, ['-c', SCRIPT], { input: text, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the Prometheus parser refused the text: ${run.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(run.stdout) as Family[];
}

/** The value of sample `name` for `account`, or undefined when there is none. */
export function sampleOf(families: readonly Family[], name: string, account: string): number | undefined {
  for (const family of families) {
    for (const s of family.samples) if (s.name === name && s.labels.account === account) return s.value;
  }
  return undefined;
}
