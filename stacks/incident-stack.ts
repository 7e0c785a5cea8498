import { Construct } from "constructs";
import { DataTerraformRemoteStateLocal, DataTerraformRemoteStateS3, TerraformStack } from "cdktf";
import { CloudwatchQueryDefinition } from "@cdktf/provider-aws/lib/cloudwatch-query-definition";
import type { Environment } from "../environments/schema";
import type { IncidentRecord } from "../environments/incidents/schema";
import { LogFormat } from "../functions/flowlog/format";
import { insightsField, insightsQuery } from "../functions/flowlog/insights";
import { bucketArn } from "../policies/iam";
import { DeliveryRole } from "../modules/delivery-role";
import { FlowLogs } from "../modules/flow-logs";
import { FlowLogGroup } from "../modules/log-group";
import { configureStack, ENVIRONMENT_OUTPUTS, environmentNames } from "./environment-stack";

/** Names of an incident's resources. */
export function incidentNames(env: Pick<Environment, "name">, incident: Pick<IncidentRecord, "id">) {
  return {
    stack: `flowlogs-${env.name}-incident-${incident.id}`,
    logGroup: `${environmentNames(env).logGroupPrefix}incidents/${incident.id}`,
    // IAM role names are limited to 64 characters.
    deliveryRole: `${environmentNames(env).incidentDeliveryRolePrefix}${incident.id}`.slice(0, 64),
    archivePrefix: `incidents/${incident.id}/`,
    query: `flowlog-kit/${env.name}/incidents/${incident.id}/all-fields`,
  };
}

/**
 * Full ENI-scoped logging for one incident: `flowlogs-<env>-incident-<id>`. Every field AWS
 * accepts for an ENI, 60-second aggregation, all traffic, to a dedicated log group (the
 * environment's CloudWatch retention and key) and to the environment's archive under
 * `incidents/<id>/`. It reads the environment's key ARN from the environment stack's outputs
 * (remote state) and changes nothing in that stack.
 */
export class IncidentStack extends TerraformStack {
  readonly flowLogs: FlowLogs;

  constructor(scope: Construct, readonly env: Environment, readonly incident: IncidentRecord) {
    const names = incidentNames(env, incident);
    super(scope, names.stack);
    const tags = { Incident: incident.id, Ticket: incident.ticket, Reason: incident.reason.slice(0, 256), Expires: incident.expiresAt };
    configureStack(this, env, tags, `incident-${incident.id}`);
    const ctx = { account: env.account, region: env.region };

    const kmsKeyArn = "keyArn" in env.kms ? env.kms.keyArn : environmentState(this, env).getString(ENVIRONMENT_OUTPUTS.kmsKeyArn);
    const group = new FlowLogGroup(this, "Logs", { name: names.logGroup, retentionDays: env.retention.cloudwatch.days, kmsKeyArn });
    const role = new DeliveryRole(this, "Delivery", { ...ctx, roleName: names.deliveryRole, logGroupNames: [names.logGroup] });
    const format = LogFormat.allFor("eni");
    this.flowLogs = new FlowLogs(this, "FlowLogs", {
      targets: incident.enis.map((id) => ({
        resource: "eni" as const,
        id,
        trafficType: "ALL" as const,
        aggregationSeconds: 60 as const,
        destinations: ["cloudwatch", "s3"] as const,
        logFormat: format,
        s3: { fileFormat: "plain-text" as const, hiveCompatiblePartitions: false, perHourPartition: true },
      })),
      cloudWatch: { logGroupArn: group.logGroup.arn, deliveryRoleArn: role.role.arn },
      // The environment's bucket policy already lets delivery write under incidents/*/AWSLogs/ (both layouts).
      s3: { destinationArn: `${bucketArn(env.region, env.archive.bucketName)}/${names.archivePrefix}` },
      namePrefix: names.stack,
    });
    const eniField = insightsField(format, "interface-id");
    new CloudwatchQueryDefinition(this, "AllFieldsQuery", {
      name: names.query,
      logGroupNames: [names.logGroup],
      queryString: insightsQuery(format, [`filter ${eniField} in [${incident.enis.map((e) => JSON.stringify(e)).join(", ")}]`, "sort @timestamp desc", "limit 10000"]),
    });
  }
}

/** The environment stack's state, read-only, from its own backend. */
function environmentState(stack: TerraformStack, env: Environment): DataTerraformRemoteStateLocal | DataTerraformRemoteStateS3 {
  const b = env.backend;
  if (b.type === "s3") {
    return new DataTerraformRemoteStateS3(stack, "Environment", { bucket: b.bucket, key: b.key ?? `flowlog-kit/${env.stackName}/terraform.tfstate`, region: b.region ?? env.region });
  }
  return new DataTerraformRemoteStateLocal(stack, "Environment", { path: b.path ?? `../../../terraform.${env.stackName}.tfstate` });
}
