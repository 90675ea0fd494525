import * as fs from 'fs';
import * as path from 'path';
import { auditSuppressions, checkovFindings, findCheckov, Suppression, UnsuppressedTemplate } from './audit';
import { SCENARIOS } from './scenarios';
import { gatedApp } from '../util/gates';

// Synthesizing every mode with cfn-guard and cdk-nag takes a while on a small CI runner.
jest.setTimeout(600_000);

interface Row extends Suppression {
  readonly scenarios: string[];
}

const README = path.join(__dirname, '..', '..', 'README.md');
// Regenerate with: UPDATE_SUPPRESSION_TABLE=1 npx jest test/suppressions
const START = '<!-- suppressions:start -->';
const END = '<!-- suppressions:end -->';

function collect(): Row[] {
  const rows = new Map<string, Row>();
  const templates: UnsuppressedTemplate[] = [];
  const audited: { scenario: string; suppression: Suppression }[] = [];
  for (const [scenario, build] of Object.entries(SCENARIOS)) {
    const app = gatedApp();
    for (const suppression of auditSuppressions(app, build(app), templates)) audited.push({ scenario, suppression });
  }
  // checkov, when installed (CI's .venv), runs once on every template with its skips removed.
  const checkov = findCheckov();
  const checkovFound = checkov ? checkovFindings(checkov, templates) : undefined;
  for (const { scenario, suppression } of audited) {
    const s = suppression.tool === 'checkov' && checkovFound
      ? { ...suppression, fires: checkovFound.has(`${suppression.templateFile}|${suppression.logicalId}|${suppression.rule}`) }
      : suppression;
    const key = [s.tool, s.rule, s.resource, s.reason].join('|');
    const row = rows.get(key);
    if (!row) rows.set(key, { ...s, templateFile: undefined, logicalId: undefined, scenarios: [scenario] });
    else rows.set(key, { ...row, fires: row.fires === false || s.fires === false ? false : row.fires, scenarios: [...row.scenarios, scenario] });
  }
  return [...rows.values()];
}

const escape = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One line per rule, resource type and reason; resources and modes listed in the row. */
function table(rows: Row[]): string {
  interface Group { rule: string; tool: string; type: string; reason: string; resources: Set<string>; scenarios: Set<string> }
  const groups = new Map<string, Group>();
  for (const r of rows) {
    const key = [r.tool, r.rule, r.resourceType, r.reason].join('|');
    const g = groups.get(key) ?? {
      rule: r.rule,
      tool: r.tool,
      type: r.resourceType,
      reason: r.reason,
      resources: new Set<string>(),
      scenarios: new Set<string>(),
      checked: r.fires !== undefined,
    };
    g.resources.add(r.resource.replace(/\/(Resource|Default)$/, ''));
    r.scenarios.forEach((s) => g.scenarios.add(s));
    groups.set(key, g);
  }
  const order = ['cdk-nag', 'cfn-guard', 'checkov'];
  const byToolRule = (a: Group, b: Group) => order.indexOf(a.tool) - order.indexOf(b.tool) || a.rule.localeCompare(b.rule);
  const lines = [...groups.values()]
    .sort((a, b) => byToolRule(a, b) || a.type.localeCompare(b.type) || a.reason.localeCompare(b.reason))
    .map((g) => {
      const resources = [...g.resources].sort().map((p) => `\`${escape(p)}\``).join(', ');
      return `| ${g.tool} | \`${escape(g.rule)}\` | ${g.type} (${resources}) | ${[...g.scenarios].join('; ')} | ${escape(g.reason)} |`;
    });
  return [
    '| Tool | Rule | Resource | Where | Reason |',
    '| --- | --- | --- | --- | --- |',
    ...lines,
  ].join('\n');
}

describe('suppressions', () => {
  const rows = collect();

  test('every suppression has a reason', () => {
    expect(rows.filter((r) => !r.reason.trim()).map((r) => `${r.tool} ${r.rule} on ${r.resource}`)).toEqual([]);
  });

  test('every suppression hides a finding its rule reports on that resource (cdk-nag, cfn-guard, and checkov when installed)', () => {
    const idle = rows.filter((r) => r.fires === false).map((r) => `${r.tool} ${r.rule} on ${r.resource} (${r.scenarios.join('; ')})`);
    expect(idle).toEqual([]);
  });

  test('the README table lists them all', () => {
    const readme = fs.readFileSync(README, 'utf-8');
    const generated = `${START}\n${table(rows)}\n${END}`;
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    if (process.env.UPDATE_SUPPRESSION_TABLE) {
      const updated = start >= 0 && end > start
        ? readme.slice(0, start) + generated + readme.slice(end + END.length)
        : `${readme.trimEnd()}\n\n${generated}\n`;
      fs.writeFileSync(README, updated);
      return;
    }
    expect(start >= 0 && end > start ? readme.slice(start, end + END.length) : '(no table)').toEqual(generated);
  });
});
