import { Construct } from "constructs";
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Environment } from "../environments/schema";
import { LogFormat } from "../functions/flowlog/format";
import { Alarms } from "../modules/alarms";
import { Alerting } from "../modules/alerting";
import { Athena, AthenaTableSpec } from "../modules/athena";
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

/** Names of the environment's resources that other stacks and tools refer to. */
export function environmentNames(env: Pick<Environment, "name">) {
  return {
    /** Every flow-log group of the environment (baseline and incidents) starts with this. */
    logGroupPrefix: `/flowlog-kit/${env.name}/`,
    logGroup: `/flowlog-kit/${env.name}/vpc-flow-logs`,
    deliveryRole: `flowlogs-${env.name}-delivery`,
    detectorFunction: `flowlogs-${env.name}-detector`,
    athenaWorkgroup: `flowlogs-${env.name}`,
    glueDatabase: `flowlogs_${env.name.replace(/-/g, "_")}`,
    athenaResultsBucket: (e: Pick<Environment, "account" | "region">) => `flowlogs-${env.name}-ath-${e.account}-${e.region}`,
  };
}

/** One Athena table per distinct S3 layout and format among the environment's S3 scopes. */
export function athenaTables(env: Environment): AthenaTableSpec[] {
  const tables: AthenaTableSpec[] = [];
  for (const scope of env.flowLogs) {
    if (!scope.s3) continue;
    const same = tables.find((t) => JSON.stringify(t.options) === JSON.stringify(scope.s3) && t.format.toAwsFormat() === scope.logFormat.toAwsFormat());
    if (!same) tables.push({ name: tables.length ? `flow_logs_${tables.length + 1}` : "flow_logs", format: scope.logFormat, options: scope.s3 });
  }
  return tables;
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
    const role = new DeliveryRole(this, "Delivery", { ...ctx, roleName: names.deliveryRole, logGroupName: names.logGroup });
    this.archive = new ArchiveBucket(this, "Archive", {
      ...ctx,
      bucketName: env.archive.bucketName,
      retentionDays: env.retention.archive.days,
      kmsKeyArn: this.key.keyArn,
    });
    this.flowLogs = new FlowLogs(this, "FlowLogs", {
      targets: env.flowLogs,
      cloudWatch: { logGroupArn: this.logGroup.logGroup.arn, deliveryRoleArn: role.role.arn },
      s3: { destinationArn: this.archive.bucket.arn, dependsOn: [this.archive.policy] },
      namePrefix: env.stackName,
    });

    this.alerting = new Alerting(this, "Alerting", { name: env.name, kmsKeyArn: this.key.keyArn });
    const cwScope = env.flowLogs.find((s) => s.destinations.includes("cloudwatch"));
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
      if (analytics.maskIpAddresses) {
        new DataProtection(this, "DataProtection", { name: env.name, logGroupName: this.logGroup.logGroup.name, kmsKeyArn: this.key.keyArn, retentionDays: env.retention.cloudwatch.days });
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
          detectorFunctionName: names.detectorFunction,
          athenaWorkgroup: names.athenaWorkgroup,
          glueDatabase: names.glueDatabase,
        },
      });
    }
  }
}
