import { Construct } from "constructs";
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Environment, FlowLogScopeConfig } from "../environments/schema";
import { archiveLayout } from "../functions/flowlog/athena";
import { LogFormat } from "../functions/flowlog/format";
import { Alarms } from "../modules/alarms";
import { Alerting } from "../modules/alerting";
import { Athena, ATHENA_RESULTS_FOLDER, AthenaTableSpec, FINDINGS_FOLDER, FINDINGS_TABLE, PUBLISHED_FOLDER } from "../modules/athena";
import { Dashboard } from "../modules/dashboard";
import { DataProtection } from "../modules/data-protection";
import { InsightsQueries } from "../modules/insights-queries";
import { ArchiveBucket } from "../modules/archive-bucket";
import { DeliveryRole } from "../modules/delivery-role";
import { DEFAULT_AGGREGATION_SECONDS, DetectorAthenaProps, Detectors } from "../modules/detectors";
import { FlowLogs } from "../modules/flow-logs";
import { EnvironmentKey } from "../modules/kms-key";
import { FirehoseSourceRole } from "../modules/firehose-role";
import { FlowLogGroup } from "../modules/log-group";
import { QuickSight } from "../modules/quicksight";
import { Rbac } from "../modules/rbac";
import { centralArchiveKeyArn } from "../policies/archive";
import { ConfigError, showValue } from "../policies/errors";
import { CLOUDWATCH_SYNTH_MAX_QUERY_CHARS, cloudwatchRuleSet } from "../functions/detect/sql";
import { archiveBucketPolicy, bucketArn, kmsKeyPolicy } from "../policies/iam";
import { RegionalLogging } from "./regional-logging";

/** Names of the environment's resources that other stacks and tools refer to. */
export function environmentNames(env: Pick<Environment, "name">) {
  return {
    /** Every flow-log group of the environment (baseline and incidents) starts with this. */
    logGroupPrefix: `/flowlog-kit/${env.name}/`,
    logGroup: `/flowlog-kit/${env.name}/vpc-flow-logs`,
    /** The log group of a subnet or ENI scope inside a VPC that is logged to `logGroup`. */
    detailLogGroup: (id: string) => `/flowlog-kit/${env.name}/detail/${id}`,
    /** Transit-gateway records: their fields differ from VPC records, so they have a group of their own. */
    transitGatewayLogGroup: `/flowlog-kit/${env.name}/transit-gateway-flow-logs`,
    deliveryRole: `flowlogs-${env.name}-delivery`,
    /** The source-account role for Firehose streams of other accounts. */
    firehoseRole: `flowlogs-${env.name}-firehose`,
    /** Every incident stack's delivery role starts with this. */
    incidentDeliveryRolePrefix: `flowlogs-${env.name}-inc-`,
    detectorFunction: `flowlogs-${env.name}-detector`,
    athenaWorkgroup: `flowlogs-${env.name}`,
    glueDatabase: `flowlogs_${env.name.replace(/-/g, "_")}`,
    athenaResultsBucket: (e: Pick<Environment, "account" | "region">) => `flowlogs-${env.name}-ath-${e.account}-${e.region}`,
  };
}

/**
 * One Athena table per S3 folder and layout: each flow-log family and file format has its own
 * folder (archiveFolder), and within it AWS's keys differ only by the Hive flag and the Region.
 * Two scopes that share a folder and the Hive flag write the same keys, so they must also share
 * the rest of the layout and the log format, or one table would read the other's files (a daily
 * table reads the hourly folders below its days, and columns would not match the records): that
 * is refused here, at synth. A table reads every Region its scopes are in.
 */
export function athenaTables(env: Environment): AthenaTableSpec[] {
  const tables: AthenaTableSpec[] = [];
  const owners: number[] = [];
  const problems: string[] = [];
  const count = { vpc: 0, tgw: 0 };
  env.flowLogs.forEach((scope, index) => {
    if (!scope.s3) return;
    const family = scope.logFormat.family;
    const at = tables.findIndex((t) => t.format.family === family && t.options.fileFormat === scope.s3!.fileFormat && t.options.hiveCompatiblePartitions === scope.s3!.hiveCompatiblePartitions);
    if (at < 0) {
      owners.push(index);
      const base = family === "tgw" ? "transit_gateway_flow_logs" : "flow_logs";
      count[family] += 1;
      tables.push({ name: count[family] > 1 ? `${base}_${count[family]}` : base, format: scope.logFormat, options: scope.s3, regions: [scope.region] });
      return;
    }
    const t = tables[at]!;
    if (!t.regions!.includes(scope.region)) tables[at] = { ...t, regions: [...t.regions!, scope.region] };
    const where = `under the same S3 keys as flowLogs[${owners[at]}] (${family === "tgw" ? "transit gateway, " : ""}${t.options.fileFormat}, hiveCompatiblePartitions ${t.options.hiveCompatiblePartitions})`;
    const fix = "Give both scopes the same perHourPartition and logFormat, or a different fileFormat or hiveCompatiblePartitions, so each Athena table reads only its own files.";
    if (t.options.perHourPartition !== scope.s3.perHourPartition) {
      problems.push(`${env.name}.flowLogs[${index}].s3.perHourPartition: writes ${where} with different partitioning (got ${scope.s3.perHourPartition}). ${fix}`);
    }
    if (t.format.toAwsFormat() !== scope.logFormat.toAwsFormat()) {
      problems.push(`${env.name}.flowLogs[${index}].logFormat: writes ${where} in a different log format (got ${showValue(scope.logFormat.isDefault ? "default" : scope.logFormat.names)}). ${fix}`);
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return tables;
}

/**
 * Where the detector's scheduled run queries the archive: the environment's workgroup and its
 * VPC flow-log tables (transit-gateway tables have other fields), with their partition keys and
 * Regions. Undefined — the run then uses Logs Insights SQL over the log group (the engine over its
 * records only with detectors.readRecords, see detectorPathProblems) — without
 * Athena or without a VPC table, and also when the environment's own VPC log group is there to
 * read and the archive would give wrong answers:
 * - a VPC scope that logs to CloudWatch but not to S3: its records are not in any table, and the
 *   Athena run would never see them;
 * - a subnet or interface scope archived inside an archived VPC: its records would be counted twice.
 * Daily partitions run on Athena too, but each query then reads half a day beyond its range on
 * average (Athena prunes whole partitions): `flowlog-kit cost` prices it and says to partition by
 * hour.
 * @see https://docs.aws.amazon.com/athena/latest/ug/partitions.html
 */
export function detectorAthena(env: Environment): DetectorAthenaProps | undefined {
  const path = detectorPath(env);
  return "athena" in path ? path.athena : undefined;
}

/**
 * Where the scheduled detector runs the rules: Athena (detectorAthena), or else the log group,
 * with why the archive is not used, in words a config error can quote.
 */
/**
 * The positions in env.flowLogs of the scopes that write to the environment's shared VPC log
 * group in its Region: what the alarms, queries, dashboard and the detector's Logs Insights path
 * read (a scope with a detail group of its own repeats records a VPC scope logs already).
 */
export function sharedLogGroupScopes(env: Environment): number[] {
  const name = environmentNames(env).logGroup;
  const groups = cloudWatchLogGroups(env);
  return env.flowLogs.flatMap((_, i) => (groups[i]?.region === env.region && groups[i]?.name === name ? [i] : []));
}

export function detectorPath(env: Environment): { readonly athena: DetectorAthenaProps } | { readonly logGroup: string } {
  if (!env.analytics.athena.enabled) return { logGroup: "analytics.athena.enabled is false" };
  const tables = athenaTables(env).filter((t) => t.format.family === "vpc");
  if (!tables.length) return { logGroup: "no VPC, subnet or interface scope has the \"s3\" destination" };
  // The scopes whose records the Logs Insights path reads must all be in a table.
  const names = environmentNames(env);
  const unarchived = sharedLogGroupScopes(env).find((i) => !env.flowLogs[i]!.destinations.includes("s3")) ?? -1;
  if (unarchived >= 0) return { logGroup: `flowLogs[${unarchived}] (${env.flowLogs[unarchived]!.id}) is not archived to S3, so its records are in no Athena table` };
  // A subnet or interface scope archived inside an archived VPC writes its records under the
  // same prefix as the VPC's, so one table would count that traffic twice (bytes, packets and
  // flows: false exfiltration and floods). The log group keeps them apart (a detail group).
  const archivedVpcs = new Set(env.flowLogs.filter((s) => s.resource === "vpc" && s.destinations.includes("s3")).map((s) => `${s.region} ${s.id}`));
  const nested = env.flowLogs.findIndex((s) => s.resource !== "vpc" && s.vpc !== undefined && s.destinations.includes("s3") && archivedVpcs.has(`${s.region} ${s.vpc}`));
  if (nested >= 0) return { logGroup: `flowLogs[${nested}] (${env.flowLogs[nested]!.id}) is archived inside an archived VPC, so one Athena table would count its records twice` };
  return { athena: {
    workgroup: names.athenaWorkgroup,
    database: names.glueDatabase,
    resultsBucket: names.athenaResultsBucket(env),
    resultsFolder: ATHENA_RESULTS_FOLDER,
    tables: tables.map((t) => {
      const regions = t.regions ?? [env.region];
      const layout = archiveLayout(env.archive.bucketName, env.account, regions.length === 1 ? regions[0]! : regions, t.options);
      return { name: t.name, partitionKeys: layout.partitionKeys, regions, fileFormat: t.options.fileFormat, fields: t.format.names };
    }),
  } };
}

/**
 * What stops the scheduled detector's path from working as configured, one message a setting:
 * - a detector on the log group (detectorPath) whose group masks IP addresses or is in the
 *   Infrequent Access class, where no query engine aggregates the records: Logs Insights SQL
 *   reads masked values (AWS documents unmask() for the Logs Insights query language only) and
 *   queries only Standard-class groups; the query language has no join the listener-learning
 *   rules can use (its join takes no subquery on the right side, and its subqueries stop after
 *   30 seconds). Unless detectors.readRecords lets each run read the records instead;
 * - detectors.readRecords where it changes nothing;
 * - a Logs Insights SQL query longer than synth keeps room for (the rest of StartQuery's 10,000
 *   characters is for threat lists read from S3 on each run).
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData_SQL.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Unmask.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Join.html
 */
export function detectorPathProblems(env: Environment, format: LogFormat): string[] {
  const d = env.detectors;
  const at = (setting: string) => `${env.name}.${setting}`;
  const path = detectorPath(env);
  const masked = env.analytics.maskIpAddresses;
  const infrequent = env.logGroupClass === "INFREQUENT_ACCESS";
  // The shared VPC log group the detector would read: none when no scope of the Region writes to it (S3 only, transit gateways only).
  const names = environmentNames(env);
  const readsGroup = sharedLogGroupScopes(env).length > 0;
  const recordsOnly = d.enabled && "logGroup" in path && readsGroup && (masked || infrequent);
  if (d.readRecords && !recordsOnly) {
    const why = !d.enabled ? "the detectors are off (detectors.enabled is false)" : "athena" in path ? "the rules run as Athena queries over the archive"
      : !readsGroup ? `no scope of ${env.region} logs to the shared log group ${names.logGroup}` : "the rules run as Logs Insights SQL queries over a Standard log group that does not mask IP addresses";
    return [`${at("detectors.readRecords")}: is true, but no detector run reads records here: ${why} (got true). Remove it.`];
  }
  if (!d.enabled || !("logGroup" in path)) return [];
  if (recordsOnly) {
    if (d.readRecords) return [];
    const instead =
      `Archive the VPC scopes to S3 with Athena, so the rules run there (every VPC scope with destinations ["cloudwatch", "s3"], and analytics.athena.enabled true), ` +
      `or set detectors.readRecords to true to have each run read the log group's records instead (at most 10,000 a query: a minute with more is left out, and reported).`;
    const because = `and the detector queries the log group because ${path.logGroup}`;
    return [
      ...(masked ? [`${at("analytics.maskIpAddresses")}: masks the IP addresses the detector's Logs Insights SQL queries read (unmask() exists only in the Logs Insights query language, which cannot express the rules), ${because} (got true). Set maskIpAddresses to false, or ${instead[0]!.toLowerCase()}${instead.slice(1)}`] : []),
      ...(infrequent ? [`${at("logGroupClass")}: puts the flow-log group in the Infrequent Access class, which Logs Insights SQL does not query (Standard-class groups only), ${because} (got "INFREQUENT_ACCESS"). Use logGroupClass "STANDARD", or ${instead[0]!.toLowerCase()}${instead.slice(1)}`] : []),
    ];
  }
  const tooLong = cloudwatchRuleSet({ logGroupName: names.logGroup, fields: format.names, thresholds: d.thresholds, start: 1_800_000_000, end: 1_800_003_600, maxChars: CLOUDWATCH_SYNTH_MAX_QUERY_CHARS }).tooLong;
  return tooLong.map((q) => at(q.message));
}

/** The longest aggregation interval among the environment's flow logs (AWS's 600 s where unset): how late a record may be written. */
export function detectorAggregationSeconds(env: Environment): number {
  return Math.max(...env.flowLogs.map((s) => s.aggregationSeconds ?? DEFAULT_AGGREGATION_SECONDS), 0);
}

/** A log group of the environment: its name and Region. */
export interface FlowLogGroupRef {
  readonly region: string;
  readonly name: string;
}

/**
 * The log group each scope's CloudWatch destination writes to, by position in env.flowLogs
 * (undefined for a scope without one). Each Region has a shared group for VPC records and one
 * for transit-gateway records (their fields differ). A subnet or ENI scope whose `vpc` another
 * scope logs to CloudWatch in the same Region gets a log group of its own: in the shared group
 * its records would be counted twice by the alarms, saved queries and detectors, which all read
 * the shared group. So does an attachment when a transit gateway of its Region is logged to
 * CloudWatch: the transit gateway's records may hold the attachment's flows.
 */
export function cloudWatchLogGroups(env: Environment): (FlowLogGroupRef | undefined)[] {
  const names = environmentNames(env);
  const cw = env.flowLogs.filter((s) => s.destinations.includes("cloudwatch"));
  const loggedVpcs = new Set(cw.filter((s) => s.resource === "vpc").map((s) => `${s.region} ${s.id}`));
  const loggedTgwRegions = new Set(cw.filter((s) => s.resource === "transit-gateway").map((s) => s.region));
  return env.flowLogs.map((s) => {
    if (!s.destinations.includes("cloudwatch")) return undefined;
    const detail =
      ((s.resource === "subnet" || s.resource === "eni") && s.vpc !== undefined && loggedVpcs.has(`${s.region} ${s.vpc}`)) ||
      (s.resource === "transit-gateway-attachment" && loggedTgwRegions.has(s.region));
    const shared = s.logFormat.family === "tgw" ? names.transitGatewayLogGroup : names.logGroup;
    return { region: s.region, name: detail ? names.detailLogGroup(s.id) : shared };
  });
}

/** The Regions of the environment's scopes other than its own, in order of first use. */
export function otherRegions(env: Environment): string[] {
  return [...new Set(env.flowLogs.map((s) => s.region))].filter((r) => r !== env.region);
}

/** A Terraform-safe suffix for a Region's construct ids and provider alias: eu-west-2 -> euwest2. */
export const regionId = (region: string) => region.replace(/-/g, "");

/** Outputs of the environment stack that incident stacks read (by remote state). */
export const ENVIRONMENT_OUTPUTS = Object.freeze({ kmsKeyArn: "kms_key_arn" });

/** What configureStack reads: an environment, or a central archive (environments/archives/). */
export type StackSettings = Pick<Environment, "region" | "account" | "tags" | "owner" | "backend" | "stackName">;

/**
 * Provider and backend every stack of an environment shares. A stack other than the
 * environment's own (`stateSuffix`) keeps its state next to the environment's, never in it.
 */
export function configureStack(stack: TerraformStack, env: StackSettings, extraTags: Record<string, string> = {}, stateSuffix?: string): void {
  new AwsProvider(stack, "aws", {
    region: env.region,
    allowedAccountIds: [env.account],
    defaultTags: [{ tags: stackTags(env, extraTags) }],
  });
  const backend = env.backend;
  if (backend.type === "s3") {
    const key = backend.key ?? `flowlog-kit/${env.stackName}/terraform.tfstate`;
    const s3 = new S3Backend(stack, {
      bucket: backend.bucket,
      key: stateSuffix ? key.replace(/(\.tfstate)?$/, `-${stateSuffix}.tfstate`) : key,
      region: backend.region ?? env.region,
      encrypt: true,
    });
    // cdktf 0.21's S3Backend predates use_lockfile (Terraform 1.10+).
    s3.addOverride("use_lockfile", backend.useLockfile);
  } else {
    // Relative to cdktf.out/stacks/<stack>: the state lands in the project folder, outside the
    // synthesized output that every synth replaces (cdktf's own default is an absolute path).
    const path = backend.path ?? `../../../terraform.${env.stackName}.tfstate`;
    new LocalBackend(stack, { path: stateSuffix ? path.replace(/(\.tfstate)?$/, `-${stateSuffix}.tfstate`) : path });
  }
}

/** The tags every resource of a stack carries (the providers' default tags). */
function stackTags(env: Pick<StackSettings, "tags" | "owner">, extraTags: Record<string, string> = {}): Record<string, string> {
  return { ...env.tags, Owner: env.owner, ManagedBy: "flowlog-kit", ...extraTags };
}

/**
 * The provider of a Region other than the stack's own, aliased by the Region's code: same
 * account pin and default tags as the stack's provider (configureStack).
 */
export function regionalProvider(stack: TerraformStack, env: StackSettings, region: string): AwsProvider {
  return new AwsProvider(stack, `aws_${regionId(region)}`, {
    alias: region,
    region,
    allowedAccountIds: [env.account],
    defaultTags: [{ tags: stackTags(env) }],
  });
}

/** One environment's baseline flow logging: `flowlogs-<env>`. */
export class EnvironmentStack extends TerraformStack {
  readonly key: EnvironmentKey;
  readonly logGroup: FlowLogGroup;
  /** The environment's own archive; undefined when it delivers to a central archive. */
  readonly archive?: ArchiveBucket;
  readonly flowLogs: FlowLogs;
  /** The flow logs of the environment's other Regions, one construct per Region. */
  readonly regions: readonly RegionalLogging[];
  readonly alerting: Alerting;
  readonly detectors?: Detectors;
  readonly rbac?: Rbac;

  constructor(scope: Construct, readonly env: Environment) {
    super(scope, env.stackName);
    configureStack(this, env);
    const ctx = { account: env.account, region: env.region };
    const names = environmentNames(env);
    const groupOf = cloudWatchLogGroups(env);
    // S3 delivery crosses Regions to the one archive, and IAM is global: the archive, its key and
    // the delivery role name every Region whose flow logs use them (aws:SourceArn is regional).
    const s3Regions = [...new Set(env.flowLogs.filter((s) => s.s3).map((s) => s.region))];
    const multiRegionS3 = s3Regions.some((r) => r !== env.region);

    this.key = new EnvironmentKey(this, "Kms", {
      ...ctx,
      name: env.name,
      existingKeyArn: "keyArn" in env.kms ? env.kms.keyArn : undefined,
      policy: multiRegionS3 ? kmsKeyPolicy({ ...ctx, deliveryRegions: s3Regions }) : undefined,
    });
    new TerraformOutput(this, ENVIRONMENT_OUTPUTS.kmsKeyArn, { value: this.key.keyArn, description: "Environment key; incident stacks encrypt with it" });
    this.logGroup = new FlowLogGroup(this, "Logs", {
      name: names.logGroup,
      retentionDays: env.retention.cloudwatch.days,
      kmsKeyArn: this.key.keyArn,
      logGroupClass: env.logGroupClass,
    });
    // The environment's Region: detail groups, and the transit-gateway group.
    const details = new Map<string, { scope: FlowLogScopeConfig; group: FlowLogGroup }>();
    env.flowLogs.forEach((scope, i) => {
      const ref = groupOf[i];
      if (ref === undefined || ref.region !== env.region || ref.name === names.logGroup || ref.name === names.transitGatewayLogGroup) return;
      const group = new FlowLogGroup(this, `DetailLogs${scope.id.replace(/-/g, "")}`, { name: ref.name, retentionDays: env.retention.cloudwatch.days, kmsKeyArn: this.key.keyArn, logGroupClass: env.logGroupClass });
      details.set(ref.name, { scope, group });
    });
    const tgwScope = env.flowLogs.find((_, i) => groupOf[i]?.region === env.region && groupOf[i]?.name === names.transitGatewayLogGroup);
    const tgwGroup = tgwScope && new FlowLogGroup(this, "TransitGatewayLogs", { name: names.transitGatewayLogGroup, retentionDays: env.retention.cloudwatch.days, kmsKeyArn: this.key.keyArn, logGroupClass: env.logGroupClass });
    const groupArnOf = (i: number): string | undefined => {
      const name = groupOf[i]?.name;
      return name === undefined ? undefined : name === names.transitGatewayLogGroup ? tgwGroup?.logGroup.arn : details.get(name)?.group.logGroup.arn;
    };
    const otherGroups = [...new Map(groupOf.flatMap((g) => (g && g.region !== env.region ? [[`${g.region} ${g.name}`, g] as const] : []))).values()];
    const role = new DeliveryRole(this, "Delivery", {
      ...ctx,
      roleName: names.deliveryRole,
      logGroupNames: [names.logGroup, ...details.keys(), ...(tgwGroup ? [names.transitGatewayLogGroup] : []), ...otherGroups],
      deliveryRegions: [...new Set(otherGroups.map((g) => g.region))],
    });
    const crossAccountFirehose = env.flowLogs.filter((s) => s.firehose?.crossAccountRoleArn !== undefined);
    const firehoseRole = crossAccountFirehose.length
      ? new FirehoseSourceRole(this, "FirehoseDelivery", { ...ctx, roleName: names.firehoseRole, targets: crossAccountFirehose, destinationRoleArns: crossAccountFirehose.map((s) => s.firehose!.crossAccountRoleArn!) })
      : undefined;
    // With a central archive the bucket, its key and its protections live in the archive's own
    // stack (flowlogs-archive-<name>, in the log-archive account): none of them here.
    const central = env.archive.central;
    const archiveKmsKeyArn = central ? centralArchiveKeyArn({ account: central.account, region: central.region, keyArn: "keyArn" in central.kms ? central.kms.keyArn : undefined }) : undefined;
    if (!central) {
      this.archive = new ArchiveBucket(this, "Archive", {
        ...ctx,
        bucketName: env.archive.bucketName,
        retentionDays: env.retention.archive.days,
        storage: env.retention.archiveStorage,
        kmsKeyArn: this.key.keyArn,
        objectLock: env.archive.objectLock,
        policy: multiRegionS3 ? archiveBucketPolicy({ ...ctx, deliveryRegions: s3Regions }, env.archive.bucketName) : undefined,
      });
    }
    // The ARN from config, not a reference: reviewers and the access model read the literal
    // destination; the dependency on the bucket policy orders creation.
    // A central archive's policy is another stack's: the archive stack is applied first.
    const s3Destination = { destinationArn: bucketArn(env.region, env.archive.bucketName), dependsOn: this.archive && [this.archive.policy, ...(this.archive.objectLock ? [this.archive.objectLock] : [])] };
    const firehose = firehoseRole && { sourceRoleArn: firehoseRole.roleArn };
    this.flowLogs = new FlowLogs(this, "FlowLogs", {
      targets: env.flowLogs.flatMap((scope, i) => {
        if (scope.region !== env.region) return [];
        const logGroupArn = groupArnOf(i);
        return [logGroupArn ? { ...scope, logGroupArn } : scope];
      }),
      cloudWatch: { logGroupArn: this.logGroup.logGroup.arn, deliveryRoleArn: role.role.arn },
      s3: s3Destination,
      firehose,
      namePrefix: env.stackName,
    });
    // Each other Region: its provider, key, log groups, queries and flow logs.
    this.regions = otherRegions(env).map(
      (region) =>
        new RegionalLogging(this, `Region_${regionId(region)}`, {
          env,
          region,
          groupOf,
          names,
          provider: regionalProvider(this, env, region),
          deliveryRoleArn: role.role.arn,
          s3: s3Destination,
          firehose,
        }),
    );

    this.alerting = new Alerting(this, "Alerting", { ...ctx, name: env.name, kmsKeyArn: this.key.keyArn });
    // The shared log group's scopes: alarms, queries, the dashboard and the detector read it.
    const cwScope = env.flowLogs[sharedLogGroupScopes(env)[0] ?? -1];
    const cwFormat = cwScope?.logFormat ?? LogFormat.DEFAULT;
    const analytics = env.analytics;
    const s3Tables = athenaTables(env);
    const withAthena = analytics.athena.enabled && s3Tables.length > 0;
    const detectorProblems = detectorPathProblems(env, cwFormat);
    if (detectorProblems.length) throw new ConfigError(detectorProblems);
    if (env.detectors.enabled) {
      this.detectors = new Detectors(this, "Detectors", {
        ...ctx,
        name: env.name,
        logGroupName: names.logGroup,
        logFormat: cwFormat,
        unmask: analytics.maskIpAddresses,
        infrequentAccess: env.logGroupClass === "INFREQUENT_ACCESS",
        archiveBucket: env.archive.bucketName,
        archiveBucketId: this.archive?.bucket.id ?? env.archive.bucketName,
        archiveKmsKeyArn,
        kmsKeyArn: this.key.keyArn,
        topicArn: this.alerting.topic.arn,
        thresholds: env.detectors.thresholds,
        schedule: env.detectors.schedule,
        aggregationSeconds: detectorAggregationSeconds(env),
        logRetentionDays: env.retention.cloudwatch.days,
        // A bucket in another account cannot be given a notification from this stack: with a
        // central archive the detector runs on its schedule only.
        // Plain-text and Parquet objects both: the handler reads either.
        onArchiveObjects: !central && env.flowLogs.some((s) => s.s3 !== undefined && !s.resource.startsWith("transit-gateway")),
        athena: detectorAthena(env),
        // Where the environment has Athena, findings are stored for it (and QuickSight) too.
        ...(withAthena ? { findings: { bucket: names.athenaResultsBucket(env), prefix: FINDINGS_FOLDER } } : {}),
        // And its ledger of findings already alerted, so overlapping runs publish each to SNS once.
        ...(withAthena ? { published: { bucket: names.athenaResultsBucket(env), prefix: PUBLISHED_FOLDER } } : {}),
        threatLists: env.detectors.threatIntel.flatMap((l) => (l.s3 !== undefined ? [{ name: l.name, s3: l.s3 }] : [])),
      });
    }

    if (cwScope) {
      new InsightsQueries(this, "Queries", { folder: `flowlog-kit/${env.name}`, logGroupName: names.logGroup, format: cwFormat });
      new Alarms(this, "Alarms", {
        name: env.name,
        logGroupName: names.logGroup,
        format: cwFormat,
        topicArn: this.alerting.topic.arn,
        rejectedAdminThreshold: analytics.alarms.rejectedAdminThreshold,
        logGapThreshold: analytics.alarms.logGapThreshold,
        email: analytics.subscriptions.email,
        https: analytics.subscriptions.https,
        logGroupClass: env.logGroupClass,
      });
      if (analytics.dashboard) {
        new Dashboard(this, "Dashboard", { name: env.name, region: env.region, logGroupName: names.logGroup, format: cwFormat, detectorFunctionName: env.detectors.enabled ? names.detectorFunction : undefined });
      }
    }
    for (const [name, { scope }] of details) {
      new InsightsQueries(this, `DetailQueries${scope.id.replace(/-/g, "")}`, { folder: `flowlog-kit/${env.name}/detail/${scope.id}`, logGroupName: name, format: scope.logFormat });
    }
    if (tgwScope) {
      new InsightsQueries(this, "TransitGatewayQueries", { folder: `flowlog-kit/${env.name}/transit-gateway`, logGroupName: names.transitGatewayLogGroup, format: tgwScope.logFormat });
    }
    // Masking covers every flow-log group of the Region: each holds the same addresses.
    if (analytics.maskIpAddresses && (cwScope || tgwGroup)) {
      new DataProtection(this, "DataProtection", {
        name: env.name,
        region: env.region,
        logGroupNames: [...(cwScope ? [this.logGroup.logGroup.name] : []), ...[...details.values()].map((d) => d.group.logGroup.name), ...(tgwGroup ? [tgwGroup.logGroup.name] : [])],
        kmsKeyArn: this.key.keyArn,
        retentionDays: env.retention.cloudwatch.days,
      });
    }
    if (withAthena) {
      const athena = new Athena(this, "Athena", {
        ...ctx,
        workgroup: names.athenaWorkgroup,
        database: names.glueDatabase,
        archiveBucket: env.archive.bucketName,
        resultsBucket: names.athenaResultsBucket(env),
        kmsKeyArn: this.key.keyArn,
        tables: s3Tables,
        bytesScannedCutoffPerQuery: analytics.athena.bytesScannedCutoffGb * 1024 ** 3,
        readRestoredObjects: env.retention.archiveStorage === "cold",
      });
      // The schema refuses quicksight without Athena, without a VPC scope in S3, or with a VPC format lacking the dashboard's fields.
      if (analytics.quicksight) {
        new QuickSight(this, "QuickSight", {
          ...ctx,
          name: env.name,
          principalArn: analytics.quicksight.principalArn,
          workgroup: athena.workgroup.name,
          database: names.glueDatabase,
          tables: s3Tables.filter((t) => t.format.family === "vpc"),
          findingsTable: FINDINGS_TABLE,
          dependsOn: [...athena.tables, athena.findingsTable],
        });
      }
    }

    if (env.rbac) {
      this.rbac = new Rbac(this, "Rbac", {
        roles: env.rbac.roles,
        maxSessionHours: env.rbac.maxSessionHours,
        permissionsBoundaryArn: env.rbac.permissionsBoundaryArn,
        scope: {
          ...ctx,
          environment: env.name,
          logGroupPrefix: names.logGroupPrefix,
          archiveBucket: env.archive.bucketName,
          kmsKeyArn: this.key.keyArn,
          archiveKmsKeyArn,
          deliveryRoleName: names.deliveryRole,
          incidentDeliveryRolePrefix: names.incidentDeliveryRolePrefix,
          detectorFunctionName: names.detectorFunction,
          athenaWorkgroup: names.athenaWorkgroup,
          glueDatabase: names.glueDatabase,
          athenaResults: { bucket: names.athenaResultsBucket(env), folder: ATHENA_RESULTS_FOLDER },
        },
      });
    }
  }
}
