import { describe, expect, it } from 'vitest';
import { checkAttachment } from '#lib/inspect/attachment.ts';
import { formatBytes } from '#lib/inspect/errors.ts';
import { refusalOf } from './inspect-fixtures.ts';

const MB = 1024 * 1024;

describe('checkAttachment', () => {
  it('accepts a file within the limit and answers its facts', () => {
    expect(checkAttachment({ fileName: 'contract.pdf', size: 1234 })).toEqual({
      fileName: 'contract.pdf',
      size: 1234,
    });
    expect(checkAttachment({ fileName: 'exactly.bin', size: 100 * MB }).size).toBe(100 * MB);
  });

  it('refuses an empty file', () => {
    const error = refusalOf(() => checkAttachment({ fileName: 'empty.txt', size: 0 }));
    expect(error.code).toBe('EMPTY_FILE');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('empty.txt');
  });

  it('refuses a file over 100 MB by default, naming both sizes in human units', () => {
    const error = refusalOf(() => checkAttachment({ fileName: 'video.mp4', size: 150 * MB + 512 * 1024 }));
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.message).toContain('150.5 MB');
    expect(error.message).toContain('100 MB');
    expect(error.details).toMatchObject({ maxBytes: 100 * MB });
  });

  it('takes a configured limit (the legacy API allowed 20 MB)', () => {
    expect(checkAttachment({ fileName: 'a.pdf', size: 20 * MB, maxBytes: 20 * MB }).size).toBe(20 * MB);
    const error = refusalOf(() =>
      checkAttachment({ fileName: 'a.pdf', size: 20 * MB + 1, maxBytes: 20 * MB }),
    );
    expect(error.code).toBe('FILE_TOO_LARGE');
    // Rounded, both read "20 MB": the exact byte counts make the refusal understandable.
    expect(error.message).toContain(`${20 * MB + 1} bytes`);
  });

  it.each([
    'setup.exe',
    'SETUP.EXE',
    'Setup.Exe',
    'setup.EXE ',
    'setup.exe.',
    'setup.exe. . ',
    'dir.v2/tool.exe\t',
  ])('refuses %j as an .exe', (fileName) => {
    const error = refusalOf(() => checkAttachment({ fileName, size: 10 }));
    expect(error.code).toBe('FORBIDDEN_TYPE');
    expect(error.message).toContain('.exe');
  });

  it.each(['setup.exe.zip', 'exe', 'notes.exe1', 'my.executable', 'readme'])('accepts %j', (fileName) => {
    expect(checkAttachment({ fileName, size: 10 }).fileName).toBe(fileName);
  });

  it('refuses a name that is only dots and spaces', () => {
    expect(refusalOf(() => checkAttachment({ fileName: ' . ', size: 10 })).code).toBe('INVALID_FILE_NAME');
  });
});

describe('formatBytes', () => {
  it('writes sizes a person reads', () => {
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(1023)).toBe('1023 bytes');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(25 * MB)).toBe('25 MB');
    expect(formatBytes(150 * MB)).toBe('150 MB');
    expect(formatBytes(3 * 1024 * MB)).toBe('3 GB');
  });
});
