import * as fs from 'fs';
import * as path from 'path';
import { BEGIN, END, matrixMarkdown } from './lib/matrix';

const README = path.join(__dirname, '..', '..', 'README.md');

test('the README matrix "What is proven before deploy" matches the suite', () => {
  const readme = fs.readFileSync(README, 'utf-8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  const current = readme.slice(start, end + END.length);
  const wanted = matrixMarkdown();
  if (process.env.UPDATE_PATHS_MATRIX === '1' && current !== wanted) {
    fs.writeFileSync(README, readme.slice(0, start) + wanted + readme.slice(end + END.length));
    return;
  }
  expect(current).toEqual(wanted);
});
