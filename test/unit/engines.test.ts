/**
 * `engines` says what installing needs: every package the lockfile installs takes the oldest Node
 * `engines.node` admits, except the test runner, which runs only through npm scripts and npx, on
 * the project's own Node (the `node` devDependency): that one must take that Node.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
/** Run only by npm scripts and npx: on the project's Node, whatever the machine's. README says why npm warns. */
const ON_THE_PROJECTS_NODE = ['node_modules/vitest'];

interface Lock {
  lockfileVersion: number;
  packages: Record<string, { version?: string; optional?: boolean; engines?: { node?: string } | string[] }>;
}

describe('engines', async () => {
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string; npm: string };
  };
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
  const floor = /^>=(\d+\.\d+\.\d+)$/.exec(manifest.engines.node)?.[1];
  const projectNode = lock.packages['node_modules/node']?.version ?? '';

  it('names a floor every installed package takes', () => {
    expect(floor).toBeDefined();
    const refusing = Object.entries(lock.packages)
      .filter(([path, entry]) => path && !entry.optional && !ON_THE_PROJECTS_NODE.includes(path))
      .flatMap(([path, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range && !satisfies(floor ?? '', range) ? [`${path} ${range}`] : [];
      });
    expect(refusing).toEqual([]);
  });

  it('is not lower than need be: some package needs that very floor', () => {
    const below = bump(floor ?? '', -1);
    const needing = Object.values(lock.packages).filter((entry) => {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      return !entry.optional && range && satisfies(floor ?? '', range) && !satisfies(below, range);
    });
    expect(needing.length).toBeGreaterThan(0);
  });

  it('leaves the test runner to the project’s own Node, which it takes', () => {
    for (const path of ON_THE_PROJECTS_NODE) {
      const range = (lock.packages[path]?.engines as { node?: string } | undefined)?.node ?? '';
      expect(satisfies(floor ?? '', range)).toBe(false);
      expect(satisfies(projectNode, range)).toBe(true);
    }
  });

  it('asks for an npm that reads this lockfile (version 3: npm 7 and later)', () => {
    expect(lock.lockfileVersion).toBe(3);
    expect(manifest.engines.npm).toBe('>=7');
  });

  it('agrees with README', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const [major, minor] = (floor ?? '').split('.');
    expect(readme.replace(/\s+/g, ' ')).toContain(`Installing needs Node.js ≥ ${major}.${minor} and npm ≥ 7`);
  });
});

/** The few node-semver range forms packages' `engines` use: `||`, comparators, `^`, `~`, `x`, bare versions. */
function satisfies(version: string, range: string): boolean {
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .every((comparator) => matches(version, comparator)),
  );
}

function matches(version: string, comparator: string): boolean {
  const parsed = /^(>=|<=|>|<|=|\^|~)?v?(\d+|x|\*)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(comparator);
  if (!parsed) throw new Error(`Cannot read the engines range "${comparator}"`);
  const [, operator = '', ...parts] = parsed;
  const given = parts.filter((part) => part !== undefined && part !== 'x' && part !== '*').map(Number);
  const wanted = [...given, 0, 0, 0].slice(0, 3);
  const order = compare(version, wanted);
  const prefixEqual = given.every((part, index) => Number(version.split('.')[index]) === part);
  switch (operator) {
    case '>=':
      return order >= 0;
    case '>':
      return given.length < 3 ? !prefixEqual && order > 0 : order > 0;
    case '<=':
      return order <= 0 || prefixEqual;
    case '<':
      return order < 0;
    case '^':
      return order >= 0 && Number(version.split('.')[0]) === wanted[0];
    case '~': {
      // ~1.2.3 and ~1.2: that major and minor; ~1: that major.
      const kept = Math.min(Math.max(given.length, 1), 2);
      return (
        order >= 0 && given.slice(0, kept).every((part, index) => Number(version.split('.')[index]) === part)
      );
    }
    default:
      return prefixEqual;
  }
}

function compare(version: string, wanted: number[]): number {
  const parts = version.split('.').map(Number);
  for (let index = 0; index < 3; index += 1) {
    const difference = (parts[index] ?? 0) - (wanted[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/** The version one patch (or minor) below. */
function bump(version: string, by: number): string {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  if (patch + by >= 0) return `${major}.${minor}.${patch + by}`;
  return `${major}.${minor - 1}.99`;
}
