import { MODES } from './lib/modes';
import { appliesTo, knownDefect, PATHS } from './lib/paths';
import { contextOf } from './lib/synth';

/*
 * Every runtime interaction of the platform, proven on the synthesized template of every mode:
 * IAM with the policy simulator (identity, resource and key policies, conditions), the network by
 * walking routes and security groups. A failure lists each call that would be denied or each hop
 * that has no route or rule. Proofs that fail because of a known, not yet fixed defect are in
 * known-defects.paths.test.ts instead.
 */
describe.each(MODES.map((m) => [m.id, m] as const))('mode %s', (_id, mode) => {
  const proven = PATHS.filter((p) => appliesTo(p, mode.id) && !knownDefect(p.id, mode.id));
  test.each(proven.map((p) => [p.id, p] as const))('%s', (_pathId, path) => {
    expect(path.prove(contextOf(mode))).toEqual([]);
  });
});
