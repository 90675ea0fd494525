import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/*
 * @cloud-copilot/iam-simulate is AGPL-3.0: the path proofs may use it at test time, but it must
 * never reach users. Not a runtime, peer or bundled dependency, not in the npm tarball (which the
 * Python, Java and Go packages embed), not in the jsii assembly, not imported by shipped code.
 */
const ROOT = path.join(__dirname, '..', '..');
const SIMULATOR = /@cloud-copilot\//;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8'));

test('the simulator is a devDependency only', () => {
  expect(Object.keys(pkg.devDependencies)).toContain('@cloud-copilot/iam-simulate');
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    expect(Object.keys(pkg[field] ?? {}).filter((d) => SIMULATOR.test(d))).toEqual([]);
  }
  expect((pkg.bundledDependencies ?? pkg.bundleDependencies ?? []).filter((d: string) => SIMULATOR.test(d))).toEqual([]);
});

test('the npm tarball holds no @cloud-copilot file', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [packed] = JSON.parse(out);
  expect(packed.files.length).toBeGreaterThan(0);
  expect(packed.files.map((f: { path: string }) => f.path).filter((p: string) => SIMULATOR.test(p))).toEqual([]);
  expect((packed.bundled ?? []).filter((d: string) => SIMULATOR.test(d))).toEqual([]);
});

test('no shipped source imports the simulator', () => {
  const shipped = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []).flatMap((e) =>
    e.isDirectory() ? shipped(path.join(dir, e.name)) : /\.(ts|js)$/.test(e.name) ? [path.join(dir, e.name)] : []);
  const files = [...shipped(path.join(ROOT, 'src')), ...shipped(path.join(ROOT, 'lib'))];
  expect(files.length).toBeGreaterThan(0);
  expect(files.filter((f) => SIMULATOR.test(fs.readFileSync(f, 'utf-8')))).toEqual([]);
});

test('the jsii assembly, when built, neither depends on nor bundles the simulator', () => {
  const assemblyFile = path.join(ROOT, '.jsii');
  if (!fs.existsSync(assemblyFile)) return; // built by `npx projen compile`; the checks above cover the sources
  const assembly = JSON.parse(fs.readFileSync(assemblyFile, 'utf-8'));
  expect(Object.keys(assembly.dependencies ?? {}).filter((d) => SIMULATOR.test(d))).toEqual([]);
  expect(Object.keys(assembly.bundled ?? {}).filter((d) => SIMULATOR.test(d))).toEqual([]);
});
