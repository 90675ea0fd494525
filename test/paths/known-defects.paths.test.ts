import { mode as modeOf } from './lib/modes';
import { KNOWN_DEFECTS, PATHS } from './lib/paths';
import { contextOf } from './lib/synth';

/*
 * The proofs that fail on this branch, each because of a defect of issue 10 whose fix is made on
 * another branch. They assert the correct behaviour, exactly like runtime-paths.paths.test.ts;
 * when a fix is merged its tests here pass, and its entry in KNOWN_DEFECTS (lib/paths.ts) is
 * removed so the proof moves to the main suite.
 */
const cases = KNOWN_DEFECTS.flatMap((d) => d.paths.flatMap((p) => d.modes.map((m) => [`${p} in ${m} (${d.defect})`, p, m] as const)));

test.each(cases)('%s', (_name, pathId, modeId) => {
  const path = PATHS.find((p) => p.id === pathId)!;
  expect(path.prove(contextOf(modeOf(modeId)))).toEqual([]);
});
