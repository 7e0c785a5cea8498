import { Construct } from "constructs";
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Environment, FlowLogScopeConfig } from "../environments/schema";
import { LogFormat } from "../functions/flowlog/format";
import { Alarms } from "../modules/alarms";
import { Alerting } from "../modules/alerting";
import { Athena, ATHENA_RESULTS_FOLDER, AthenaTableSpec } from "../modules/athena";
import { Dashboard } from "../modules/dashboard";
import { DataProtection } from "../modules/data-protection";
import { InsightsQueries } from "../modules/insights-queries";
import { ArchiveBucket } from "../modules/archive-bucket";
import { DeliveryRole } from "../modules/delivery-role";
import { Detectors } from "../modules/detectors";
import { FlowLogs } from "../modules/flow-logs";
import { EnvironmentKey } from "../modules/kms-key";
import { FlowLogGroup } from "../modules/log-group";
import { Rbac } from "../modules/rbac";
import { ConfigError, showValue } from "../policies/errors";
import { bucketArn } from "../policies/iam";

/** Names of the environment's resources that other stacks and tools refer to. */
export function environmentNames(env: Pick<Environment, "name">) {
  return {
    /** Every flow-log group of the environment (baseline and incidents) starts with this. */
    logGroupPrefix: `/flowlog-kit/${env.name}/`,
    logGroup: `/flowlog-kit/${env.name}/vpc-flow-logs`,
    /** The log group of a subnet or ENI scope inside a VPC that is logged to `logGroup`. */
    detailLogGroup: (id: string) => `/flowlog-kit/${env.name}/detail/${id}`,
    deliveryRole: `flowlogs-${env.name}-delivery`,
    /** Every incident stack's delivery role starts with this. */
    incidentDeliveryRolePrefix: `flowlogs-${env.name}-inc-`,
    detectorFunction: `flowlogs-${env.name}-detector`,
    athenaWorkgroup: `flowlogs-${env.name}`,
    glueDatabase: `flowlogs_${env.name.replace(/-/g, "_")}`,
    athenaResultsBucket: (e: Pick<Environment, "account" | "region">) => `flowlogs-${env.name}-ath-${e.account}-${e.region}`,
  };
}

/**
 * One Athena table per S3 folder and layout: each file format has its own folder
 * (ARCHIVE_FORMAT_FOLDERS), and within it AWS's keys differ only by the Hive flag. Two scopes
 * that share a folder and the Hive flag write the same keys, so they must also share the rest
 * of the layout and the log format, or one table would read the other's files (a daily table
 * reads the hourly folders below its days, and columns would not match the records): that is
 * refused here, at synth.
 */
export function athenaTables(env: Environment): AthenaTableSpec[] {
  const tables: AthenaTableSpec[] = [];
  const owners: number[] = [];
  const problems: string[] = [];
  env.flowLogs.forEach((scope, index) => {
    if (!scope.s3) return;
    const at = tables.findIndex((t) => t.options.fileFormat === scope.s3!.fileFormat && t.options.hiveCompatiblePartitions === scope.s3!.hiveCompatiblePartitions);
    if (at < 0) {
      owners.push(index);
      tables.push({ name: tables.length ? `flow_logs_${tables.length + 1}` : "flow_logs", format: scope.logFormat, options: scope.s3 });
      return;
    }
    const t = tables[at]!;
    const where = `under the same S3 keys as flowLogs[${owners[at]}] (${t.options.fileFormat}, hiveCompatiblePartitions ${t.options.hiveCompatiblePartitions})`;
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
 * The log group each scope's CloudWatch destination writes to, by position in env.flowLogs
 * (undefined for a scope without one). A subnet or ENI scope whose `vpc` another scope logs to
 * CloudWatch gets a log group of its own: in the shared group its records would be counted
 * twice by the alarms, saved queries and detectors, which all read the shared group.
 */
export function cloudWatchLogGroups(env: Environment): (string | undefined)[] {
  const names = environmentNames(env);
  const loggedVpcs = new Set(env.flowLogs.filter((s) => s.resource === "vpc" && s.destinations.includes("cloudwatch")).map((s) => s.id));
  return env.flowLogs.map((s) => {
    if (!s.destinations.includes("cloudwatch")) return undefined;
    return s.resource !== "vpc" && s.vpc !== undefined && loggedVpcs.has(s.vpc) ? names.detailLogGroup(s.id) : names.logGroup;
  });
}

/** Outputs of the environment stack that incident stacks read (by remote state). */
export const ENVIRONMENT_OUTPUTS = Object.freeze({ kmsKeyArn: "kms_key_arn" });

/**
 * Provider and backend every stack of an environment shares. A stack other than the
 * environment's own (`stateSuffix`) keeps its state next to the environment's, never in it.
 */
export function configureStack(stack: TerraformStack, env: Environment, extraTags: Record<string, string> = {}, stateSuffix?: string): void {
  new AwsProvider(stack, "aws", {
    region: env.region,
    allowedAccountIds: [env.account],
    defaultTags: [{ tags: { ...env.tags, Owner: env.owner, ManagedBy: "flowlog-kit", ...extraTags } }],
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

/** One environment's baseline flow logging: `flowlogs-<env>`. */
export class EnvironmentStack extends TerraformStack {
  readonly key: EnvironmentKey;
  readonly logGroup: FlowLogGroup;
  readonly archive: ArchiveBucket;
  readonly flowLogs: FlowLogs;
  readonly alerting: Alerting;
  readonly detectors?: Detectors;
  readonly rbac?: Rbac;

  constructor(scope: Construct, readonly env: Environment) {
    super(scope, env.stackName);
    configureStack(this, env);
    const ctx = { account: env.account, region: env.region };
    const names = environmentNames(env);

    this.key = new EnvironmentKey(this, "Kms", {
      ...ctx,
      name: env.name,
      existingKeyArn: "keyArn" in env.kms ? env.kms.keyArn : undefined,
    });
    new TerraformOutput(this, ENVIRONMENT_OUTPUTS.kmsKeyArn, { value: this.key.keyArn, description: "Environment key; incident stacks encrypt with it" });
    this.logGroup = new FlowLogGroup(this, "Logs", {
      name: names.logGroup,
      retentionDays: env.retention.cloudwatch.days,
      kmsKeyArn: this.key.keyArn,
    });
    const groupOf = cloudWatchLogGroups(env);
    const details = new Map<string, { scope: FlowLogScopeConfig; group: FlowLogGroup }>();
    env.flowLogs.forEach((scope, i) => {
      const name = groupOf[i];
      if (name === undefined || name === names.logGroup) return;
      const group = new FlowLogGroup(this, `DetailLogs${scope.id.replace(/-/g, "")}`, { name, retentionDays: env.retention.cloudwatch.days, kmsKeyArn: this.key.keyArn });
      details.set(name, { scope, group });
    });
    const role = new DeliveryRole(this, "Delivery", { ...ctx, roleName: names.deliveryRole, logGroupNames: [names.logGroup, ...details.keys()] });
    this.archive = new ArchiveBucket(this, "Archive", {
      ...ctx,
      bucketName: env.archive.bucketName,
      retentionDays: env.retention.archive.days,
      storage: env.retention.archiveStorage,
      kmsKeyArn: this.key.keyArn,
    });
    this.flowLogs = new FlowLogs(this, "FlowLogs", {
      targets: env.flowLogs.map((scope, i) => {
        const detail = details.get(groupOf[i] ?? "");
        return detail ? { ...scope, logGroupArn: detail.group.logGroup.arn } : scope;
      }),
      cloudWatch: { logGroupArn: this.logGroup.logGroup.arn, deliveryRoleArn: role.role.arn },
      // The ARN from config, not a reference: reviewers and the access model read the literal
      // destination; the dependency on the bucket policy orders creation.
      s3: { destinationArn: bucketArn(env.region, env.archive.bucketName), dependsOn: [this.archive.policy] },
      namePrefix: env.stackName,
    });

    this.alerting = new Alerting(this, "Alerting", { name: env.name, kmsKeyArn: this.key.keyArn });
    // The shared log group's scopes: alarms, queries, the dashboard and the detector read it.
    const cwScope = env.flowLogs.find((_, i) => groupOf[i] === names.logGroup);
    const cwFormat = cwScope?.logFormat ?? LogFormat.DEFAULT;
    const analytics = env.analytics;
    if (env.detectors.enabled) {
      this.detectors = new Detectors(this, "Detectors", {
        ...ctx,
        name: env.name,
        logGroupName: names.logGroup,
        logFormat: cwFormat,
        unmask: analytics.maskIpAddresses,
        archiveBucket: env.archive.bucketName,
        archiveBucketId: this.archive.bucket.id,
        kmsKeyArn: this.key.keyArn,
        topicArn: this.alerting.topic.arn,
        thresholds: env.detectors.thresholds,
        schedule: env.detectors.schedule,
        logRetentionDays: env.retention.cloudwatch.days,
        onArchiveObjects: env.flowLogs.some((s) => s.s3?.fileFormat === "plain-text"),
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
      });
      if (analytics.dashboard) {
        new Dashboard(this, "Dashboard", { name: env.name, region: env.region, logGroupName: names.logGroup, format: cwFormat, detectorFunctionName: env.detectors.enabled ? names.detectorFunction : undefined });
      }
      for (const [name, { scope }] of details) {
        new InsightsQueries(this, `DetailQueries${scope.id.replace(/-/g, "")}`, { folder: `flowlog-kit/${env.name}/detail/${scope.id}`, logGroupName: name, format: scope.logFormat });
      }
      if (analytics.maskIpAddresses) {
        new DataProtection(this, "DataProtection", {
          name: env.name,
          region: env.region,
          logGroupNames: [this.logGroup.logGroup.name, ...[...details.values()].map((d) => d.group.logGroup.name)],
          kmsKeyArn: this.key.keyArn,
          retentionDays: env.retention.cloudwatch.days,
        });
      }
    }
    const s3Tables = athenaTables(env);
    if (analytics.athena.enabled && s3Tables.length) {
      new Athena(this, "Athena", {
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
