import { IMPORT_MODES, IMPORT_PATHS } from './lib/import-paths';
import { contextOf } from './lib/synth';

/*
 * The data import's runtime paths (FlaskDataImport), proven on the synthesized template of every
 * Fargate egress mode of the platform and of the construct on its own: IAM with the policy
 * simulator, the network by walking routes and security groups from the subnets and security
 * group the run-task command of the outputs names.
 */
describe.each(IMPORT_MODES.map((m) => [m.id, m] as const))('mode %s', (_id, mode) => {
  test.each(IMPORT_PATHS.map((p) => [p.id, p] as const))('%s', (_pathId, path) => {
    expect(path.prove(contextOf(mode))).toEqual([]);
  });
});
