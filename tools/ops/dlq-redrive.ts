/**
 * The dead-letter queue's redrive: its messages moved back to the queue they came from (SQS
 * StartMessageMoveTask), and the moves under way or done (ListMessageMoveTasks).
 */
import {
  ListMessageMoveTasksCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';

export interface RedriveOptions {
  /** The dead-letter queue whose messages move. */
  dlqArn: string;
  /** Where they go; default: each message back to the queue it came from. */
  destinationArn?: string | undefined;
  /** SQS: at most 500 a second; default: SQS picks the rate. */
  maxPerSecond?: number | undefined;
}

/** Starts moving the DLQ's messages back; SQS allows one active move task per queue. */
export async function startRedrive(sqs: SQSClient, options: RedriveOptions): Promise<{ taskHandle: string }> {
  const answer = await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: options.dlqArn,
      ...(options.destinationArn ? { DestinationArn: options.destinationArn } : {}),
      ...(options.maxPerSecond ? { MaxNumberOfMessagesPerSecond: options.maxPerSecond } : {}),
    }),
  );
  if (!answer.TaskHandle) throw new Error(`SQS started no move task for ${options.dlqArn}`);
  return { taskHandle: answer.TaskHandle };
}

export interface RedriveTask {
  taskHandle: string | undefined;
  status: string;
  sourceArn: string | undefined;
  destinationArn: string | undefined;
  moved: number | undefined;
  toMove: number | undefined;
  failureReason: string | undefined;
  startedAt: string | undefined;
}

/** The DLQ's most recent move tasks (SQS keeps up to 10), newest first. */
export async function listRedrives(sqs: SQSClient, dlqArn: string): Promise<RedriveTask[]> {
  const answer = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
  return (answer.Results ?? []).map((task) => ({
    taskHandle: task.TaskHandle,
    status: task.Status ?? 'UNKNOWN',
    sourceArn: task.SourceArn,
    destinationArn: task.DestinationArn,
    moved: task.ApproximateNumberOfMessagesMoved,
    toMove: task.ApproximateNumberOfMessagesToMove,
    failureReason: task.FailureReason,
    startedAt:
      task.StartedTimestamp === undefined ? undefined : new Date(task.StartedTimestamp).toISOString(),
  }));
}
