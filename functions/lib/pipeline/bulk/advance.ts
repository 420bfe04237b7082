/**
 * Feeds an event to the machine, runs the effects it answers, and saves the new state with a
 * conditional write. Effects run before the save: a crash in between leaves the old version, so
 * the message that carried the event is retried and does the same again (each effect is safe to
 * repeat: tags, a results object under a fixed key, a follow-up that is stale once its version is).
 */
import type { StoredObject } from '#lib/s3/object.ts';
import { failedOutcome, isRetryable } from '../outcome.ts';
import { type OutcomeRecording, record } from '../record-outcome.ts';
import { followUpOf, type SendFollowUp } from './follow-up.ts';
import { type ImportEvent, type ImportState, next } from './machine.ts';
import { collectResults, type ResultsDeps } from './results.ts';
import type { ImportStore } from './store.ts';

/** What running the machine's effects takes: recording outcomes, collecting results, following up. */
export interface AdvanceDeps extends OutcomeRecording, ResultsDeps {
  followUp: SendFollowUp;
}

export interface ImportContext {
  deps: AdvanceDeps;
  store: ImportStore;
  /**
   * The import's object, read only when an effect writes on it or reads it (a look that finds the
   * jobs running needs none); undefined when it is gone or was overwritten, and the event is dropped.
   */
  source: () => Promise<StoredObject | undefined>;
  signal: AbortSignal;
}

/**
 * Answers the saved state, or undefined when another delivery moved the import on first or the
 * import's object is gone or was overwritten (nothing is saved then: the import stays where it
 * was, unfollowed).
 */
export async function advance(
  ctx: ImportContext,
  state: ImportState,
  event: ImportEvent,
): Promise<ImportState | undefined> {
  const { deps } = ctx;
  let current = state;
  const events: ImportEvent[] = [event];
  for (let pending = events.shift(); pending; pending = events.shift()) {
    const transition = next(current, pending);
    if (transition.state === current) {
      deps.log.info('Bulk import: event ignored in this state', {
        event: pending.type,
        status: current.status,
      });
      continue;
    }
    current = transition.state;
    for (const effect of transition.effects) {
      if (effect.type === 'follow-up') {
        await deps.followUp(followUpOf(current));
        continue;
      }
      const object = await ctx.source();
      if (!object) return undefined;
      if (effect.type === 'record') await record(deps, object, effect.outcome);
      else events.push(await collect(ctx, object, current));
    }
  }
  if (current === state) return state;
  const saved = await ctx.store.save(current);
  if (!saved)
    deps.log.warn('Bulk import moved on by another delivery; this one is dropped', { write: state.write });
  return saved;
}

async function collect(ctx: ImportContext, object: StoredObject, state: ImportState): Promise<ImportEvent> {
  try {
    return { type: 'results', results: await collectResults(ctx.deps, state, object, ctx.signal) };
  } catch (error) {
    return failureEvent('follow-failed', error);
  }
}

/**
 * A failure as the event that ends the import `failed` (Zoho's code, or ours); a retryable one is
 * thrown again, for the queue to retry the message.
 */
export function failureEvent<T extends 'start-failed' | 'follow-failed'>(
  type: T,
  error: unknown,
): { type: T; code: string; reason: string } {
  if (isRetryable(error)) throw error;
  const { code = 'INTERNAL', reason = String(error) } = failedOutcome(error);
  return { type, code, reason };
}
