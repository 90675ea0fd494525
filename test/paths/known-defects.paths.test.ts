import { mode as modeOf } from './lib/modes';
import { KNOWN_DEFECTS, PATHS } from './lib/paths';
import { contextOf } from './lib/synth';

/*
 * The proofs that fail because of a known defect (KNOWN_DEFECTS in lib/paths.ts). They assert the
 * correct behaviour, exactly like runtime-paths.paths.test.ts; when the fix lands its tests here
 * pass, and its entry is removed so the proof moves to the main suite.
 */
const cases = KNOWN_DEFECTS.flatMap((d) => d.paths.flatMap((p) => d.modes.map((m) => [`${p} in ${m} (${d.defect})`, p, m] as const)));

test('every known defect is listed with the proofs it breaks', () => {
  for (const d of KNOWN_DEFECTS) expect(d.paths.length * d.modes.length).toBeGreaterThan(0);
});

const run = cases.length ? test.each(cases) : () => () => undefined;
run('%s', (_name, pathId, modeId) => {
  const path = PATHS.find((p) => p.id === pathId)!;
  expect(path.prove(contextOf(modeOf(modeId)))).toEqual([]);
});
