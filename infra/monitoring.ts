/**
 * The dashboard and the alarms. The pipeline's metrics are Powertools EMF metrics: each carries
 * the dimensions `service` (s3-to-zoho-<kind>) and `kind`, and ZohoErrors adds `code`; a
 * CloudWatch metric matches only on its exact dimension set, so every metric here names them all.
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { KINDS, type Kind, kindRecord, serviceName } from '#lib/kinds.ts';
import { METRIC } from '#lib/metric-names.ts';

export interface MonitoredKind {
  fn: IFunction;
  queue: IQueue;
  deadLetterQueue: IQueue;
}

export interface MonitoringProps {
  namespace: string;
  kinds: Record<Kind, MonitoredKind>;
  topic: ITopic;
  /** Alarm when FilesFailed / (FilesPushed + FilesFailed) is above this, per kind. */
  failureRateThreshold: number;
  /** Alarm when Zoho answered "too many requests" more than this many times in 5 minutes. */
  throttleThreshold: number;
  dashboardName?: string | undefined;
  /** Alarm when a queue's oldest message is older than this. */
  oldestMessageAlarmAge: Duration;
}

export interface Monitoring {
  dashboard: Dashboard;
  alarms: Alarm[];
}

const FIVE_MINUTES = Duration.minutes(5);

type MetricOf = (
  kind: Kind,
  metricName: string,
  statistic?: string,
  extra?: Record<string, string>,
) => Metric;

export function createMonitoring(scope: Construct, props: MonitoringProps): Monitoring {
  const metric: MetricOf = (kind, metricName, statistic = 'Sum', extra = {}) =>
    new Metric({
      namespace: props.namespace,
      metricName,
      dimensionsMap: { service: serviceName(kind), kind, ...extra },
      statistic,
      period: FIVE_MINUTES,
      label: `${kind} ${metricName}`,
    });
  const alarms = createAlarms(scope, props, metric);
  const dashboard = createDashboard(scope, props, metric, alarms);
  return { dashboard, alarms };
}

/** Every alarm, each publishing to the topic when it fires and when it clears. */
function createAlarms(scope: Construct, props: MonitoringProps, metric: MetricOf): Alarm[] {
  const alarms: Alarm[] = [];
  const alarm = (id: string, description: string, metricOrExpression: IMetric, threshold: number) => {
    const created = new Alarm(scope, id, {
      alarmDescription: description,
      metric: metricOrExpression,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(new SnsAction(props.topic));
    created.addOkAction(new SnsAction(props.topic));
    alarms.push(created);
  };
  for (const kind of KINDS) kindAlarms(kind, props, metric, alarm);

  const throttled = Object.fromEntries(
    KINDS.map((kind, i) => [`t${i}`, metric(kind, METRIC.zohoErrors, 'Sum', { code: 'ZOHO_THROTTLED' })]),
  );
  alarm(
    'ZohoThrottled',
    `Zoho answered "too many requests" more than ${props.throttleThreshold} times in 5 minutes. The pushes ` +
      "retry by themselves, but something else is using the org's concurrency or API credits: lower " +
      'concurrency.budget or concurrency.callsPerMinute (context concurrencyBudget, callsPerMinute), or check ' +
      "the org's API usage in Zoho.",
    new MathExpression({
      expression: Object.keys(throttled)
        .map((name) => `FILL(${name}, 0)`)
        .join(' + '),
      usingMetrics: throttled,
      period: FIVE_MINUTES,
      label: 'Zoho throttled calls',
    }),
    props.throttleThreshold,
  );
  alarm(
    'BulkImportsExpired',
    'bulk-write: an import was still running in Zoho past BULK_MAX_FOLLOW_SECONDS and ended expired. ' +
      'Look its jobs up in Zoho (zoho-id tag on the object), then npm run replay if nothing was written.',
    metric('bulk-write', METRIC.zohoErrors, 'Sum', { code: 'BULK_IMPORT_EXPIRED' }),
    0,
  );
  return alarms;
}

type AddAlarm = (id: string, description: string, metric: IMetric, threshold: number) => void;

function kindAlarms(kind: Kind, props: MonitoringProps, metric: MetricOf, alarm: AddAlarm): void {
  const { fn, queue, deadLetterQueue } = props.kinds[kind];
  const id = kindRecord(kind).constructId;
  alarm(
    `${id}DeadLetters`,
    `${kind}: messages in the dead-letter queue. Each is an object that could not be pushed after ` +
      'every retry; read the zoho-error tag on the object and the function logs, fix the cause, then ' +
      'redrive the DLQ to the source queue.',
    deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(1),
    }),
    0,
  );
  const oldest = props.oldestMessageAlarmAge.toSeconds();
  alarm(
    `${id}OldestMessage`,
    `${kind}: a message has waited in the queue over ${oldest / 3600} h, longer than its retries take. ` +
      'The function is not taking messages (disabled, throttled, failing at cold start) or Zoho has been ' +
      'down for hours; messages that reach the 14-day retention are deleted without reaching the DLQ.',
    queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: FIVE_MINUTES }),
    oldest,
  );
  alarm(
    `${id}FailureRate`,
    `${kind}: more than ${Math.round(props.failureRateThreshold * 100)}% of the files finished in 5 minutes ` +
      'failed for good (FilesFailed / (FilesPushed + FilesFailed)). Look at ZohoErrors by code and at the ' +
      'zoho-error tags: bad keys, files over the limits, or Zoho rejecting the data.',
    new MathExpression({
      // FILL: a window with failures and no push (or the reverse) must still give a rate.
      expression:
        'IF(FILL(pushed, 0) + FILL(failed, 0) > 0, FILL(failed, 0) / (FILL(pushed, 0) + FILL(failed, 0)), 0)',
      usingMetrics: { pushed: metric(kind, METRIC.filesPushed), failed: metric(kind, METRIC.filesFailed) },
      period: FIVE_MINUTES,
      label: `${kind} failure rate`,
    }),
    props.failureRateThreshold,
  );
  alarm(
    `${id}FunctionErrors`,
    `${kind}: the function itself failed (a crash, a timeout, or a cold start that could not load its ` +
      'config or secret). Failed files alone do not count here; read the function logs.',
    fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
    0,
  );
}

type PerKind = (metricName: string, statistic?: string) => IMetric[];
type Widgets = ConstructorParameters<typeof GraphWidget>[0][];

/** The dashboard: what was pushed, what failed and why, Zoho's answers, the queues and functions. */
function createDashboard(
  scope: Construct,
  props: MonitoringProps,
  metric: MetricOf,
  alarms: Alarm[],
): Dashboard {
  const dashboard = new Dashboard(scope, 'Dashboard', {
    ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
    defaultInterval: Duration.hours(6),
  });
  const perKind: PerKind = (metricName, statistic = 'Sum') =>
    KINDS.map((kind) => metric(kind, metricName, statistic));
  dashboard.addWidgets(
    new TextWidget({
      markdown:
        '# s3-to-zoho\nFiles dropped in S3 pushed to Zoho CRM, per kind. Metrics: namespace ' +
        `\`${props.namespace}\`, dimensions \`service\`, \`kind\` (and \`code\` for ZohoErrors).`,
      width: 24,
      height: 2,
    }),
  );
  for (const row of [...fileRows(perKind), ...zohoAndAwsRows(props, perKind)]) {
    dashboard.addWidgets(...row.map((widget) => new GraphWidget(widget)));
  }
  dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));
  return dashboard;
}

/** The pipeline's own metrics: files, messages, bytes, durations. */
function fileRows(perKind: PerKind): Widgets[] {
  return [
    [
      { title: 'Files pushed', left: perKind(METRIC.filesPushed), width: 8 },
      { title: 'Files failed', left: perKind(METRIC.filesFailed), width: 8 },
      { title: 'Files skipped (duplicates, folders)', left: perKind(METRIC.filesSkipped), width: 8 },
    ],
    [
      {
        title: 'Messages received (S3 events and bulk write follow-ups)',
        left: perKind(METRIC.recordsReceived),
        width: 12,
      },
      {
        title: 'Files started (bulk write jobs created, followed until done or failed)',
        left: perKind(METRIC.filesStarted),
        width: 12,
      },
    ],
  ];
}

/** Bytes and durations, the queues, Zoho's answers, the functions, the tags left out. */
function zohoAndAwsRows(props: MonitoringProps, perKind: PerKind): Widgets[] {
  const { namespace, kinds } = props;
  /** An AWS metric's maximum over 5 minutes. */
  const maximum = (label: string) => ({ statistic: 'Maximum', period: FIVE_MINUTES, label });
  return [
    [
      { title: 'Bytes pushed', left: perKind(METRIC.bytesPushed), width: 8 },
      {
        title: 'Push duration (ms, p50 and p90)',
        left: [...perKind(METRIC.pushDuration, 'p50'), ...perKind(METRIC.pushDuration, 'p90')],
        width: 8,
      },
      {
        title: 'Messages in the dead-letter queues',
        left: KINDS.map((kind) =>
          kinds[kind].deadLetterQueue.metricApproximateNumberOfMessagesVisible(maximum(`${kind} DLQ`)),
        ),
        width: 8,
      },
    ],
    [
      {
        title: 'Zoho errors by code',
        left: [
          new MathExpression({
            expression: `SEARCH('{${namespace},code,kind,service} MetricName="${METRIC.zohoErrors}"', 'Sum', 300)`,
            label: '',
            period: FIVE_MINUTES,
          }),
        ],
        width: 8,
      },
      {
        title: 'Token refreshes (one per expiry for the fleet)',
        left: perKind(METRIC.tokenRefreshes),
        width: 8,
      },
      {
        title: 'Lambda errors and throttles',
        left: KINDS.map((kind) =>
          kinds[kind].fn.metricErrors({ label: `${kind} errors`, period: FIVE_MINUTES }),
        ),
        right: KINDS.map((kind) =>
          kinds[kind].fn.metricThrottles({ label: `${kind} throttles`, period: FIVE_MINUTES }),
        ),
        width: 8,
      },
    ],
    [
      {
        title: 'Queue backlog (visible messages)',
        left: KINDS.map((kind) => kinds[kind].queue.metricApproximateNumberOfMessagesVisible(maximum(kind))),
        width: 12,
      },
      {
        title: 'Concurrent executions',
        left: KINDS.map((kind) => kinds[kind].fn.metric('ConcurrentExecutions', maximum(kind))),
        width: 12,
      },
    ],
    [
      {
        title: "Outcomes not tagged: the object's own 10 tags left no room (see the WARN log)",
        left: perKind(METRIC.outcomeTagsDropped),
        width: 24,
      },
    ],
  ];
}
