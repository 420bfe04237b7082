import { describe, expect, it } from 'vitest';
import { replaceSection } from '../../bench/bundle-size.ts';

const OURS = '## Lambda bundle sizes\n\nnew numbers\n';

describe('BENCHMARKS.md section replacement', () => {
  it('creates the document when there is none', () => {
    expect(replaceSection('', OURS)).toBe(`# Benchmarks\n\n${OURS}`);
  });

  it('appends the section after the others', () => {
    expect(replaceSection('# Benchmarks\n\n## Client\n\nfast\n', OURS)).toBe(
      `# Benchmarks\n\n## Client\n\nfast\n\n${OURS}`,
    );
  });

  it('replaces only its own section, keeping the ones around it', () => {
    const document =
      '# Benchmarks\n\n## Client\n\nfast\n\n## Lambda bundle sizes\n\nold numbers\n\n## Local run\n\n3 s\n';
    expect(replaceSection(document, OURS)).toBe(
      `# Benchmarks\n\n## Client\n\nfast\n\n${OURS}\n## Local run\n\n3 s\n`,
    );
  });
});
