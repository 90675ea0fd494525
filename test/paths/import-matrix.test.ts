import * as fs from 'fs';
import * as path from 'path';
import { IMPORT_BEGIN, IMPORT_END, importMatrixMarkdown } from './lib/import-paths';

const README = path.join(__dirname, '..', '..', 'README.md');

test('the README matrix of the data import\'s paths matches the suite', () => {
  const readme = fs.readFileSync(README, 'utf-8');
  const start = readme.indexOf(IMPORT_BEGIN);
  const end = readme.indexOf(IMPORT_END);
  const wanted = importMatrixMarkdown();
  if (process.env.UPDATE_PATHS_MATRIX === '1' && start >= 0 && end > start) {
    fs.writeFileSync(README, readme.slice(0, start) + wanted + readme.slice(end + IMPORT_END.length));
    return;
  }
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  expect(readme.slice(start, end + IMPORT_END.length)).toEqual(wanted);
});
