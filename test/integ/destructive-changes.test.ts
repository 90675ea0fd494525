import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// scripts/check-destructive-changes.sh lets integ-runner diff the code against a base's snapshots:
// a replaced database must fail it, an in-place change must not. Each case synthesizes the
// database integ test once.

const ROOT = path.join(__dirname, '..', '..');
const SNAPSHOT = 'integ.database.ts.snapshot';
const TEMPLATE = 'FlaskServerlessDatabaseInteg.template.json';

/** A base whose committed database snapshot differs from the code in one cluster property. */
function baseWith(property: string, value: unknown): { dir: string; clusterId: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-base-'));
  fs.cpSync(path.join(ROOT, 'integ', SNAPSHOT), path.join(dir, SNAPSHOT), { recursive: true });
  const file = path.join(dir, SNAPSHOT, TEMPLATE);
  const template = JSON.parse(fs.readFileSync(file, 'utf8'));
  const [clusterId] = Object.entries<any>(template.Resources).find(([, r]) => r.Type === 'AWS::RDS::DBCluster')!;
  template.Resources[clusterId].Properties[property] = value;
  fs.writeFileSync(file, JSON.stringify(template, undefined, 1));
  return { dir, clusterId };
}

function check(base: string): { status: number | null; output: string } {
  const result = spawnSync('bash', [path.join(ROOT, 'scripts', 'check-destructive-changes.sh'), base, 'integ.database.ts'], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('a change that replaces the database cluster fails, naming it', () => {
  // Deployed with another database name: the code's 'app' would replace the cluster.
  const { dir, clusterId } = baseWith('DatabaseName', 'legacy');
  const { status, output } = check(dir);
  expect(output).toContain('destructive changes');
  expect(output).toMatch(new RegExp(`${clusterId}.*WILL_REPLACE|WILL_REPLACE.*${clusterId}`, 's'));
  expect(status).toBe(1);
}, 20 * 60_000);

test('a change Aurora applies in place passes', () => {
  // Deployed with 14 days of backups: the code's 7 is an update, not a replacement.
  const { dir } = baseWith('BackupRetentionPeriod', 14);
  const { status, output } = check(dir);
  // integ-runner did see the difference, and found nothing it would replace.
  expect(output).toMatch(/^ *CHANGED +integ\.database/m);
  expect(output).not.toContain('Impact:');
  expect(output).toContain('No destructive changes');
  expect(status).toBe(0);
}, 20 * 60_000);
