import { MODES } from './modes';
import { appliesTo, KNOWN_DEFECTS, knownDefect, PATHS } from './paths';

export const BEGIN = '<!-- paths-matrix:begin (generated from test/paths/lib; UPDATE_PATHS_MATRIX=1 npx jest test/paths/readme-matrix) -->';
export const END = '<!-- paths-matrix:end -->';

/** The README's path × mode matrix, from the suite's declared paths, modes and known defects. */
export function matrixMarkdown(): string {
  const defectNo = (d: string) => /^defect (\d+)/.exec(d)?.[1] ?? '?';
  const header = `| Runtime path | ${MODES.map((m) => `\`${m.id}\``).join(' | ')} |`;
  const rule = `|---|${MODES.map(() => ':-:').join('|')}|`;
  const rows = PATHS.map((p) => `| ${p.title} | ${MODES.map((m) => {
    if (!appliesTo(p, m.id)) return '–';
    const defect = knownDefect(p.id, m.id);
    return defect ? `✗ ${defectNo(defect)}` : '✓';
  }).join(' | ')} |`);
  const modes = MODES.map((m) => `- \`${m.id}\`: ${m.description}${m.accountHasApiGatewayRole ? ' (assumes the account\'s API Gateway CloudWatch role is set)' : ''}`);
  const defects = KNOWN_DEFECTS.map((d) => `- ✗ ${d.defect.replace(/^defect /, '')}`);
  return [
    BEGIN,
    header,
    rule,
    ...rows,
    '',
    '✓ proven on the synthesized template; – the path does not exist in that mode.',
    '',
    ...(defects.length ? ['✗ fails today: a known defect, listed in `test/paths/known-defects.paths.test.ts`:', '', ...defects] : []),
    '',
    'Modes:',
    '',
    ...modes,
    END,
  ].join('\n');
}
