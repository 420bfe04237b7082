/**
 * The sandbox's admin host (`/__sandbox`), for users out of process (`npm start`, a shell):
 * state, request log, faults, the clock, records, grant codes. Not part of Zoho's contract.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from './clock.ts';
import { zohoTime } from './clock.ts';
import type { FailNext, FaultState, Faults } from './faults.ts';
import { invalidUrl, json, type Reply, readSmallBody } from './http.ts';

export interface AdminParts {
  inspect(): { requests: unknown; faults: unknown };
  faults: FaultState;
  clock: Clock;
  createRecord(module: string, fields: Record<string, unknown>): string;
  issueGrantCode(): string;
  send(res: ServerResponse, reply: Reply): Promise<void>;
}

export function createAdmin(parts: AdminParts) {
  const { inspect, faults, clock, send } = parts;
  return async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const readJson = async () => {
      const text = (await readSmallBody(req as AsyncIterable<Buffer>, 1024 * 1024)).toString('utf8');
      return (text.trim() === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    };
    const answer = (status: number, body: unknown) => send(res, json(status, body));
    try {
      const key = `${req.method} ${path}`;
      if (key === 'GET /state') return await answer(200, inspect());
      if (key === 'GET /requests') return await answer(200, inspect().requests);
      if (key === 'DELETE /faults') {
        faults.reset();
        return await answer(200, inspect().faults);
      }
      if (key === 'POST /faults') {
        const body = await readJson();
        if (body.reset === true) faults.reset();
        else faults.set(faultsFromJson(body));
        return await answer(200, inspect().faults);
      }
      if (key === 'POST /clock') {
        const { advanceMs } = await readJson();
        clock.advance(Number(advanceMs));
        return await answer(200, { now: zohoTime(clock.now()) });
      }
      if (key === 'POST /records') {
        const { module, fields } = await readJson();
        return await answer(201, {
          id: parts.createRecord(String(module), (fields ?? {}) as Record<string, unknown>),
        });
      }
      if (key === 'POST /grant-code') return await answer(201, { code: parts.issueGrantCode() });
      req.resume();
      return await answer(404, invalidUrl().body);
    } catch (error) {
      return await answer(400, { error: (error as Error).message });
    }
  };
}

/** Faults as JSON (admin endpoint): `path` is a substring, `pathRegex` a pattern. */
function faultsFromJson(body: Record<string, unknown>): Partial<Faults> {
  const { failNext, ...rest } = body;
  if (failNext === undefined) return rest as Partial<Faults>;
  if (!Array.isArray(failNext)) throw new Error('failNext must be an array');
  return {
    ...(rest as Partial<Faults>),
    failNext: failNext.map((raw: Record<string, unknown>) => {
      const { pathRegex, ...fail } = raw;
      return {
        ...(fail as unknown as FailNext),
        ...(typeof pathRegex === 'string' ? { path: new RegExp(pathRegex) } : {}),
      };
    }),
  };
}
