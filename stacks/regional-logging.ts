import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Environment, FlowLogScopeConfig } from "../environments/schema";
import { DataProtection } from "../modules/data-protection";
import { FlowLogs, FlowLogsProps } from "../modules/flow-logs";
import { InsightsQueries } from "../modules/insights-queries";
import { EnvironmentKey } from "../modules/kms-key";
import { FlowLogGroup } from "../modules/log-group";
import { kmsKeyPolicy } from "../policies/iam";
import type { FlowLogGroupRef } from "./environment-stack";

export interface RegionalLoggingProps {
  readonly env: Environment;
  /** A Region of the environment's scopes other than its own. */
  readonly region: string;
  /** Every scope's log group (cloudWatchLogGroups), by position in env.flowLogs. */
  readonly groupOf: readonly (FlowLogGroupRef | undefined)[];
  /** Names of the environment's log groups (environmentNames). */
  readonly names: { readonly logGroup: string; readonly transitGatewayLogGroup: string; readonly detailLogGroup: (id: string) => string };
  /** The provider of this Region (regionalProvider). */
  readonly provider: AwsProvider;
  /** The environment's delivery role: IAM is global, one role serves every Region. */
  readonly deliveryRoleArn: string;
  /** The environment's archive: S3 delivery crosses Regions, so every Region's flow logs use it. */
  readonly s3?: FlowLogsProps["s3"];
  /** The source-account role for Firehose streams of other accounts. */
  readonly firehose?: FlowLogsProps["firehose"];
}

/**
 * The flow logs of one Region other than the environment's own, with their CloudWatch side in
 * that Region (CloudWatch Logs takes flow logs only from its own Region and encrypts a group
 * only with a key of that Region): a key (or the replica of the environment's multi-Region
 * key), the shared group for VPC records, one for transit-gateway records, detail groups, their
 * saved queries, and data protection when the environment masks IP addresses. Alarms, the
 * dashboard and the detector stay on the environment's own Region.
 */
export class RegionalLogging extends Construct {
  /** The key of this Region's log groups (created, or the given multi-Region key's replica). */
  readonly keyArn: string;
  /** This Region's log groups by name. */
  readonly groups = new Map<string, { readonly group: FlowLogGroup; readonly scope: FlowLogScopeConfig }>();
  readonly flowLogs: FlowLogs;

  constructor(scope: Construct, id: string, props: RegionalLoggingProps) {
    super(scope, id);
    const { env, region, provider, names } = props;
    const days = env.retention.cloudwatch.days;
    const inRegion = env.flowLogs.map((s, i) => ({ s, ref: props.groupOf[i] })).filter(({ s }) => s.region === region);
    const toCloudWatch = inRegion.filter(({ ref }) => ref !== undefined);

    if ("keyArn" in env.kms) {
      // The schema admits a given key here only when it is multi-Region: its replica in this
      // Region has the same key id.
      this.keyArn = env.kms.keyArn.replace(/^(arn:[^:]+:kms:)[^:]+(:)/, `$1${region}$2`);
    } else {
      const key = toCloudWatch.length
        ? new EnvironmentKey(this, "Kms", {
            account: env.account,
            region,
            name: env.name,
            provider,
            description: `flowlog-kit ${env.name}: flow-log group encryption in ${region}`,
            policy: kmsKeyPolicy({ account: env.account, region }),
          })
        : undefined;
      this.keyArn = key?.keyArn ?? "";
    }

    for (const { s, ref } of toCloudWatch) {
      if (this.groups.has(ref!.name)) continue;
      const groupId = ref!.name === names.logGroup ? "Logs" : ref!.name === names.transitGatewayLogGroup ? "TransitGatewayLogs" : `DetailLogs${s.id.replace(/-/g, "")}`;
      const group = new FlowLogGroup(this, groupId, { name: ref!.name, retentionDays: days, kmsKeyArn: this.keyArn, logGroupClass: env.logGroupClass, provider });
      this.groups.set(ref!.name, { group, scope: s });
      const folder = ref!.name === names.logGroup ? `flowlog-kit/${env.name}` : ref!.name === names.transitGatewayLogGroup ? `flowlog-kit/${env.name}/transit-gateway` : `flowlog-kit/${env.name}/detail/${s.id}`;
      new InsightsQueries(this, `${groupId}Queries`, { folder, logGroupName: ref!.name, format: s.logFormat, provider });
    }
    if (env.analytics.maskIpAddresses && this.groups.size) {
      new DataProtection(this, "DataProtection", {
        name: env.name,
        region,
        logGroupNames: [...this.groups.values()].map((g) => g.group.logGroup.name),
        kmsKeyArn: this.keyArn,
        retentionDays: days,
        provider,
      });
    }

    this.flowLogs = new FlowLogs(this, "FlowLogs", {
      targets: inRegion.map(({ s, ref }) => (ref ? { ...s, logGroupArn: this.groups.get(ref.name)!.group.logGroup.arn } : s)),
      cloudWatch: toCloudWatch.length ? { logGroupArn: this.groups.get(toCloudWatch[0]!.ref!.name)!.group.logGroup.arn, deliveryRoleArn: props.deliveryRoleArn } : undefined,
      s3: props.s3,
      firehose: props.firehose,
      namePrefix: env.stackName,
      provider,
    });
  }
}
