/**
 * The bulk imports' own table (one item per import, functions/lib/pipeline/bulk/store.ts) and the
 * alarm for imports stuck past their deadline: the bulk function ends such an import `expired`
 * and counts it as ZohoErrors with code BULK_IMPORT_EXPIRED; any in 5 minutes is worth a look.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { serviceName } from './monitoring.ts';

export interface BulkImportsProps {
  removalPolicy: RemovalPolicy;
  namespace: string;
}

export class BulkImports extends Construct {
  readonly table: Table;
  readonly expiredAlarm: Alarm;

  constructor(scope: Construct, id: string, props: BulkImportsProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
    });
    this.expiredAlarm = new Alarm(this, 'Expired', {
      alarmDescription:
        'bulk-write: an import was still running in Zoho past BULK_MAX_FOLLOW_SECONDS and ended expired. ' +
        'Look its jobs up in Zoho (zoho-id tag on the object), then npm run replay if nothing was written.',
      metric: new Metric({
        namespace: props.namespace,
        metricName: 'ZohoErrors',
        dimensionsMap: {
          service: serviceName('bulk-write'),
          kind: 'bulk-write',
          code: 'BULK_IMPORT_EXPIRED',
        },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /** The alarm publishes to the stack's alarm topic (made after the functions). */
  notify(topic: ITopic): void {
    this.expiredAlarm.addAlarmAction(new SnsAction(topic));
    this.expiredAlarm.addOkAction(new SnsAction(topic));
  }
}
