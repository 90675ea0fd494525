import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf-8');

/** The commands of the README's "The two commands" block, without their comments. */
function readmeCommands(): string[] {
  const section = read('README.md').split('## The two commands')[1];
  const block = section.split('```bash\n')[1].split('```')[0];
  return block.split('\n').map((line) => line.replace(/#.*$/, '').trim()).filter((line) => line.length > 0);
}

describe('the README\'s two commands', () => {
  const commands = readmeCommands();

  test('there are two: the main job and every test', () => {
    expect(commands).toEqual(['npm ci && npx projen synth:examples', 'npm ci && npx projen test:all']);
  });

  test('each installs the local toolchain before npx runs projen (npx never downloads)', () => {
    for (const command of commands) expect(command.startsWith('npm ci && npx projen ')).toBe(true);
  });

  test('each names a projen task that exists', () => {
    const tasks = JSON.parse(read('.projen/tasks.json')).tasks;
    for (const command of commands) expect(Object.keys(tasks)).toContain(command.split(' ').pop());
  });

  test('CI runs the test command verbatim', () => {
    const ci = read('.ci/run').split('\n').map((line) => line.trim());
    expect(ci).toContain(commands[1]);
  });

  test('test:all sets up its tools first and ends with the user path', () => {
    const steps = JSON.parse(read('.projen/tasks.json')).tasks['test:all'].steps.map((s: { spawn: string }) => s.spawn);
    expect(steps[0]).toBe('setup:test-tools');
    expect(steps).toContain('test:user-path');
  });
});
