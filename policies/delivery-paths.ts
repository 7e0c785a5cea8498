/**
 * Where AWS writes flow logs, and the requests it makes to do so, for every destination option
 * of `aws_flow_log`, taken from the AWS documentation. Works on any synthesized stack
 * (cdk.tf.json): it reads the flow logs as Terraform will create them, not the kit's config.
 *
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-S3.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-firehose.html
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/firehose-cross-account-delivery.html
 */
import { createHash } from "crypto";
import type { StackJson } from "./controls/stack";
import { AccessDecision, AccessRequest, evaluate } from "./evaluate";
import { partitionOf } from "./iam";
import { stackModel, StackModel, StackModelOptions } from "./stack-model";

export type DestinationType = "s3" | "cloud-watch-logs" | "kinesis-data-firehose";
export type FileFormat = "plain-text" | "parquet";
export type TrafficType = "ACCEPT" | "REJECT" | "ALL";

/** The S3 destination options of a flow log, as `destination_options` holds them. */
export interface S3DestinationOptions {
  /** @default "plain-text" */
  readonly fileFormat: FileFormat;
  /** @default false */
  readonly hiveCompatiblePartitions: boolean;
  /** @default false */
  readonly perHourPartition: boolean;
}

/** Everything that decides where one S3 log file lands. */
export interface S3ObjectKeyInput extends S3DestinationOptions {
  /** The folder given after the bucket in `log_destination` (`""` for none), e.g. `incidents/inc-1/`. */
  readonly prefix: string;
  /** The account that owns the flow log. */
  readonly account: string;
  /** The Region of the flow log. */
  readonly region: string;
  /** e.g. `fl-1234abcd`. */
  readonly flowLogId: string;
  /** The start of the 5-minute period whose records (by end time) the file holds, UTC. */
  readonly at: Date;
  /** The 8 hex digits AWS appends to keep names unique. */
  readonly hash: string;
}

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * The folder part before `AWSLogs/`: the prefix of `log_destination`, ending in one slash.
 * AWS reserves AWSLogs as a folder name.
 */
function normalizePrefix(prefix: string): string {
  if (prefix === "") return "";
  if (prefix.split("/").includes("AWSLogs")) {
    throw new Error(`log_destination: the folder uses the reserved name AWSLogs (got ${JSON.stringify(prefix)}). Choose another folder; AWS adds AWSLogs/ itself.`);
  }
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

/**
 * The exact object key AWS writes: plain
 * `<prefix>/AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>/[<hh>/]<file>` or Hive
 * `<prefix>/AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=<yyyy>/month=<mm>/day=<dd>/[hour=<hh>/]<file>`,
 * where `<file>` is `<account>_vpcflowlogs_<region>_<flow-log-id>_<yyyymmddTHHmmZ>_<hash>.log.gz`
 * (`.log.parquet` for Parquet: the guide shows only the text form; delivered Parquet objects end so).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
 */
export function s3ObjectKey(k: S3ObjectKeyInput): string {
  const t = k.at;
  const yyyy = String(t.getUTCFullYear());
  const mm = pad(t.getUTCMonth() + 1);
  const dd = pad(t.getUTCDate());
  const hh = pad(t.getUTCHours());
  const stamp = `${yyyy}${mm}${dd}T${hh}${pad(t.getUTCMinutes() - (t.getUTCMinutes() % 5))}Z`;
  const file = `${k.account}_vpcflowlogs_${k.region}_${k.flowLogId}_${stamp}_${k.hash}${k.fileFormat === "parquet" ? ".log.parquet" : ".log.gz"}`;
  return `${normalizePrefix(k.prefix)}${s3Folder(k, { yyyy, mm, dd, hh })}${file}`;
}

function s3Folder(k: Pick<S3ObjectKeyInput, "account" | "region" | "hiveCompatiblePartitions" | "perHourPartition">, d: { yyyy: string; mm: string; dd: string; hh: string }): string {
  if (k.hiveCompatiblePartitions) {
    return `AWSLogs/aws-account-id=${k.account}/aws-service=vpcflowlogs/aws-region=${k.region}/year=${d.yyyy}/month=${d.mm}/day=${d.dd}/${k.perHourPartition ? `hour=${d.hh}/` : ""}`;
  }
  return `AWSLogs/${k.account}/vpcflowlogs/${k.region}/${d.yyyy}/${d.mm}/${d.dd}/${k.perHourPartition ? `${d.hh}/` : ""}`;
}

/** The key with placeholders where time, flow-log id and hash go, e.g. for a README or a review. */
export function s3ObjectKeyTemplate(k: Omit<S3ObjectKeyInput, "at" | "hash" | "flowLogId"> & { readonly flowLogId?: string }): string {
  const folder = s3Folder(k, { yyyy: "<yyyy>", mm: "<mm>", dd: "<dd>", hh: "<hh>" });
  const ext = k.fileFormat === "parquet" ? ".log.parquet" : ".log.gz";
  return `${normalizePrefix(k.prefix)}${folder}${k.account}_vpcflowlogs_${k.region}_${k.flowLogId ?? "<flow-log-id>"}_<yyyymmddTHHmmZ>_<hash>${ext}`;
}

/**
 * The log stream AWS writes one interface's records to: the interface id and the traffic type,
 * e.g. `eni-0c4d6e8f0a2b4c6d8-all` (the user guide says only "one stream per interface"; the
 * suffix is what CloudWatch shows and what CreateLogStream events in CloudTrail carry).
 */
export function logStreamName(interfaceId: string, trafficType: TrafficType): string {
  return `${interfaceId}-${trafficType.toLowerCase()}`;
}

/** One `aws_flow_log` of a stack, with references resolved. */
export interface FlowLogSettings {
  /** Terraform address, e.g. `aws_flow_log.FlowLogs_vpc0b1eToS3_F13201E5`. */
  readonly address: string;
  /** What is logged: `vpc`, `subnet`, `eni`, `transit-gateway` or `transit-gateway-attachment`. */
  readonly resourceType: string;
  /** e.g. `vpc-0b1e3a5c7d9f1b3d5`. */
  readonly resourceId: string;
  /** @default "ALL" */
  readonly trafficType: TrafficType;
  /** @default "cloud-watch-logs" */
  readonly destinationType: DestinationType;
  /** ARN of the bucket (optionally with a folder), log group or Firehose stream. */
  readonly destination: string;
  /** Only for S3. */
  readonly s3?: S3DestinationOptions;
  /** The role AWS assumes to write to CloudWatch Logs, or, for a Firehose stream of another account, the source-account role. */
  readonly iamRoleArn?: string;
  /** For a Firehose stream of another account: the destination-account role (`AWSLogDeliveryFirehoseCrossAccountRole...`) the source role assumes. */
  readonly deliverCrossAccountRole?: string;
  /** Stand-in for the id AWS assigns at apply (`fl-` and 17 hex digits). */
  readonly flowLogId: string;
  /** The Region the flow log is created in (its provider's): the Region of what it watches. */
  readonly region: string;
  /** `arn:<partition>:ec2:<region>:<account>:vpc-flow-log/<flowLogId>`: the aws:SourceArn of the role assumption. */
  readonly flowLogArn: string;
}

const RESOURCE_ATTRS: readonly (readonly [string, string])[] = [
  ["vpc_id", "vpc"],
  ["subnet_id", "subnet"],
  ["eni_id", "eni"],
  ["transit_gateway_id", "transit-gateway"],
  ["transit_gateway_attachment_id", "transit-gateway-attachment"],
];

/** Reads every `aws_flow_log` of a stack. */
export function flowLogSettings(stack: StackJson, model: StackModel): FlowLogSettings[] {
  const { account, region } = model.context;
  const p = partitionOf(region);
  return Object.keys(stack.resource?.aws_flow_log ?? {})
    .sort()
    .map((name) => {
      const address = `aws_flow_log.${name}`;
      const v = stack.resource!.aws_flow_log![name]!;
      const attr = (a: string) => (typeof v[a] === "string" ? model.resolve(v[a] as string) : undefined);
      const [idAttr, resourceType] = RESOURCE_ATTRS.find(([a]) => typeof v[a] === "string") ?? ["", "unknown"];
      // The provider's default; the deprecated log_group_name names a CloudWatch group.
      const destinationType = (attr("log_destination_type") ?? "cloud-watch-logs") as DestinationType;
      const legacyGroup = attr("log_group_name");
      const flRegion = model.regionOf(address);
      const destination = attr("log_destination") ?? (legacyGroup ? `arn:${p}:logs:${flRegion}:${account}:log-group:${legacyGroup}` : "");
      const options = (v.destination_options ?? {}) as Record<string, unknown>;
      const flowLogId = model.attribute(address, "id")!;
      return {
        address,
        resourceType,
        resourceId: attr(idAttr) ?? "",
        trafficType: (attr("traffic_type") ?? "ALL") as TrafficType,
        destinationType,
        destination,
        ...(destinationType === "s3"
          ? {
              s3: {
                fileFormat: (options.file_format as FileFormat | undefined) ?? "plain-text",
                hiveCompatiblePartitions: options.hive_compatible_partitions === true,
                perHourPartition: options.per_hour_partition === true,
              },
            }
          : {}),
        ...(attr("iam_role_arn") ? { iamRoleArn: attr("iam_role_arn") } : {}),
        ...(attr("deliver_cross_account_role") ? { deliverCrossAccountRole: attr("deliver_cross_account_role") } : {}),
        region: flRegion,
        flowLogId,
        flowLogArn: model.attribute(address, "arn")!,
      };
    });
}

/** What one flow log writes where. */
export interface DeliveryPath {
  /** Terraform address of the flow log. */
  readonly flowLog: string;
  readonly destinationType: DestinationType;
  /** S3: the object key with placeholders; CloudWatch: the log-stream ARN with the interface as placeholder; Firehose: the stream ARN. */
  readonly template: string;
  /** S3: the bucket ARN; CloudWatch: the log-group ARN; Firehose: the stream ARN. */
  readonly destination: string;
  /** The prefix (S3) or log-group ARN whose write access decides delivery: what a policy must allow. */
  readonly writes: string;
}

/** One request AWS makes to deliver a flow log. */
export interface DeliveryRequest extends AccessRequest {
  /** Terraform address of the flow log the request delivers. */
  readonly flowLog: string;
  readonly destinationType: DestinationType;
  /** What AWS does with it, e.g. "write a log file". */
  readonly step: string;
  /** False for requests AWS makes only sometimes (creating a missing log group) or that only avoid CloudTrail noise. */
  readonly required: boolean;
  /** Stand-ins used and other caveats. */
  readonly note?: string;
}

/** A value the stack does not hold, so the requests that need it cannot be made concrete. */
export interface Unresolved {
  /** Terraform address of the flow log whose requests it leaves out. */
  readonly flowLog: string;
  /** e.g. `kms_key_id of aws_cloudwatch_log_group.Logs_LogGroup_2D29F7A4`. */
  readonly what: string;
  /** What the stack holds instead: the reference, or why it is unknown. */
  readonly value: string;
  /** How to make it known. */
  readonly fix: string;
}

/** What AWS writes for every flow log of a stack, and how. */
export interface DeliveryPlan {
  /** One per flow log. */
  readonly paths: readonly DeliveryPath[];
  /** Every request AWS makes to deliver, in flow-log order. */
  readonly requests: readonly DeliveryRequest[];
  /** Requests that could not be made concrete; report them as unverified. */
  readonly unresolved: readonly Unresolved[];
}

export interface DeliveryOptions extends StackModelOptions {
  /**
   * The moment whose log file the concrete requests name.
   * @default 2026-01-15T13:25:00Z, so that output is the same on every run
   */
  readonly at?: Date;
}

const SAMPLE_TIME = new Date(Date.UTC(2026, 0, 15, 13, 25));
const hex = (seed: string, n: number) => createHash("sha256").update(seed).digest("hex").slice(0, n);

/** The stand-in interface id used for VPC and subnet flow logs, whose interfaces the stack does not list. */
export const placeholderInterfaceId = (address: string) => `eni-${hex(`interface:${address}`, 17)}`;

const FIREHOSE_WRITES = ["firehose:PutRecord", "firehose:PutRecordBatch"] as const;

/** The delivery service's service-linked role for Firehose destinations of the flow log's own account. */
export const logDeliveryRole = (p: string, account: string) => `arn:${p}:iam::${account}:role/aws-service-role/delivery.logs.amazonaws.com/AWSServiceRoleForLogDelivery`;

/**
 * Every path every flow log of the stack writes, and every request AWS makes to write it:
 * for S3, delivery.logs.amazonaws.com checks the bucket (s3:GetBucketAcl, s3:ListBucket),
 * writes the object (s3:PutObject with `x-amz-acl: bucket-owner-full-control`) and, for
 * SSE-KMS with a customer managed key, asks KMS for a data key; for CloudWatch Logs,
 * vpc-flow-logs.amazonaws.com assumes the delivery role, which describes the group and streams,
 * creates one stream per interface and puts events, while CloudWatch Logs
 * (logs.<region>.amazonaws.com) asks the group's key for data keys; for a Firehose stream of the
 * same account, the delivery service's service-linked role puts records; for a stream of another
 * account, the delivery service assumes the source-account role (`iam_role_arn`), which assumes
 * the destination account's role (`deliver_cross_account_role`), which puts records: the stack's
 * policies decide the source role's trust and its own permission to assume the destination role;
 * the destination role's trust and its writes are the destination account's, so those requests
 * come out unverified (with what to check), never denied. Every request carries aws:SourceAccount and
 * aws:SourceArn as AWS sends them; AWS documents the delivery service's source ARN only as
 * `arn:aws:logs:<region>:<account>:*`, and that is the value used.
 */
export function deliveryPlan(stack: StackJson, account: string, region: string, options: DeliveryOptions = {}): DeliveryPlan {
  return deliveryPlanOf(stack, stackModel(stack, { account, region }, options), options.at);
}

/** {@link deliveryPlan} from a model of the stack already read, so that callers holding one do not read the stack again. */
export function deliveryPlanOf(stack: StackJson, model: StackModel, at: Date = SAMPLE_TIME): DeliveryPlan {
  const { account, region } = model.context;
  const p = partitionOf(region);
  const paths: DeliveryPath[] = [];
  const requests: DeliveryRequest[] = [];
  const unresolved: Unresolved[] = [];
  // The delivery service's source is the flow log's Region, which a regional scope does not share.
  const deliverySourceArnOf = (fl: FlowLogSettings) => `arn:${p}:logs:${fl.region}:${account}:*`;
  const stacks = [{ stack, model }, ...model.companions];
  // Read once per bucket and group: a stack may have hundreds of flow logs writing to the same few.
  const encryption = new Map<string, ReturnType<typeof bucketEncryption>>();
  const groups = new Map<string, { inStack: boolean; key: string | undefined }>();
  const refFix = "Pass the stack that defines it in options.companions (for an incident stack: its environment stack), or its value in options.references.";

  for (const fl of flowLogSettings(stack, model)) {
    if (fl.destination === "" || fl.destination.includes("${")) {
      unresolved.push({ flowLog: fl.address, what: `log_destination of ${fl.address}`, value: fl.destination, fix: refFix });
      continue;
    }
    const base = { flowLog: fl.address, destinationType: fl.destinationType };

    if (fl.destinationType === "s3") {
      const m = /^arn:([^:]+):s3:::([^/]+)\/?(.*)$/.exec(fl.destination);
      if (!m) throw new Error(`${fl.address}.log_destination: not an S3 bucket ARN (got ${JSON.stringify(fl.destination)}). Use arn:${p}:s3:::<bucket> or arn:${p}:s3:::<bucket>/<folder>/.`);
      const bucketArn = `arn:${m[1]}:s3:::${m[2]}`;
      const keyInput = { prefix: m[3]!, account, region: fl.region, flowLogId: fl.flowLogId, ...fl.s3! };
      const key = s3ObjectKey({ ...keyInput, at, hash: hex(`${fl.flowLogId}:${at.toISOString()}`, 8) });
      const writes = `${normalizePrefix(keyInput.prefix)}${fl.s3!.hiveCompatiblePartitions ? `AWSLogs/aws-account-id=${account}/` : `AWSLogs/${account}/`}`;
      paths.push({ ...base, template: s3ObjectKeyTemplate(keyInput), destination: bucketArn, writes });
      const context = { "aws:SourceAccount": account, "aws:SourceArn": deliverySourceArnOf(fl), "aws:SecureTransport": "true" };
      const service = "delivery.logs.amazonaws.com";
      requests.push({ ...base, step: "check the bucket's owner and ACL", required: true, principal: service, action: "s3:GetBucketAcl", resource: bucketArn, resourceAccount: account, context });
      requests.push({ ...base, step: "list the bucket (when denied, delivery goes on and CloudTrail shows AccessDenied errors)", required: false, principal: service, action: "s3:ListBucket", resource: bucketArn, resourceAccount: account, context });
      requests.push({
        ...base,
        step: "write a log file",
        required: true,
        principal: service,
        action: "s3:PutObject",
        resource: `${bucketArn}/${key}`,
        resourceAccount: account,
        context: { ...context, "s3:x-amz-acl": "bucket-owner-full-control" },
        note: `object key of the 5-minute period starting ${at.toISOString()}, flow-log id ${fl.flowLogId} (stand-in until apply)`,
      });
      if (!encryption.has(bucketArn)) encryption.set(bucketArn, bucketEncryption(stacks, bucketArn));
      const sse = encryption.get(bucketArn);
      if (sse === "unknown") {
        unresolved.push({ flowLog: fl.address, what: `default encryption of ${bucketArn}`, value: "not in this stack", fix: "Pass the stack that defines the bucket in options.companions, or check that delivery.logs.amazonaws.com may use its KMS key." });
      } else if (sse) {
        if (sse.keyArn === "alias/aws/s3") {
          unresolved.push({ flowLog: fl.address, what: `default encryption of ${bucketArn}`, value: "SSE-KMS with the AWS managed key aws/s3", fix: "Use a customer managed key whose policy allows delivery.logs.amazonaws.com: the aws/s3 key's policy cannot be changed." });
        } else if (sse.keyArn.includes("${") || !/^arn:[^:]+:kms:/.test(sse.keyArn)) {
          unresolved.push({ flowLog: fl.address, what: `kms_master_key_id of ${bucketArn}'s encryption`, value: sse.keyArn, fix: refFix });
        } else {
          requests.push({
            ...base,
            step: "get a data key to encrypt the log file (SSE-KMS)",
            required: true,
            principal: service,
            action: "kms:GenerateDataKey",
            resource: sse.keyArn,
            context: {
              "aws:SourceAccount": account,
              "aws:SourceArn": deliverySourceArnOf(fl),
              "kms:ViaService": `s3.${region}.amazonaws.com`,
              // With an S3 Bucket Key the data key is bound to the bucket, otherwise to the object.
              "kms:EncryptionContext:aws:s3:arn": sse.bucketKey ? bucketArn : `${bucketArn}/${key}`,
            },
          });
        }
      }
      continue;
    }

    if (fl.destinationType === "cloud-watch-logs") {
      const groupArn = fl.destination.replace(/:\*$/, "");
      const group = groupArn.slice(groupArn.indexOf(":log-group:") + ":log-group:".length);
      const interfaceId = fl.resourceType === "eni" ? fl.resourceId : placeholderInterfaceId(fl.address);
      const stream = `${groupArn}:log-stream:${logStreamName(interfaceId, fl.trafficType)}`;
      paths.push({ ...base, template: `${groupArn}:log-stream:${logStreamName("<interface-id>", fl.trafficType)}`, destination: groupArn, writes: groupArn });
      if (!fl.iamRoleArn || fl.iamRoleArn.includes("${")) {
        unresolved.push({ flowLog: fl.address, what: `iam_role_arn of ${fl.address}`, value: fl.iamRoleArn ?? "nothing", fix: fl.iamRoleArn ? refFix : "Set iam_role_arn: CloudWatch Logs delivery needs a role." });
        continue;
      }
      const role = fl.iamRoleArn;
      const streamNote = fl.resourceType === "eni" ? undefined : `${interfaceId} stands in for each interface of ${fl.resourceId}`;
      requests.push({ ...base, step: "assume the delivery role", required: true, principal: "vpc-flow-logs.amazonaws.com", action: "sts:AssumeRole", resource: role, context: { "aws:SourceAccount": account, "aws:SourceArn": fl.flowLogArn }, note: `flow-log ARN ${fl.flowLogArn} (stand-in id until apply)` });
      if (!groups.has(groupArn)) groups.set(groupArn, { inStack: groupDefinedInStack(stack, model, groupArn), key: groupKey(stack, model, groupArn) });
      const { inStack: groupInStack, key } = groups.get(groupArn)!;
      const asRole = (step: string, action: string, resource: string, required: boolean, note?: string): DeliveryRequest => ({ ...base, step, required, principal: role, action, resource, context: { "aws:SecureTransport": "true" }, ...(note ? { note } : {}) });
      requests.push(asRole("find the log group", "logs:DescribeLogGroups", "*", true));
      requests.push(
        asRole(
          "create the log group if it is missing",
          "logs:CreateLogGroup",
          groupArn,
          !groupInStack,
          groupInStack ? "the stack creates the group, so AWS does not need to" : "the group is not created by this stack: AWS creates it when missing",
        ),
      );
      requests.push(asRole("find the interface's stream", "logs:DescribeLogStreams", groupArn, true));
      requests.push(asRole("create the interface's stream", "logs:CreateLogStream", stream, true, streamNote));
      requests.push(asRole("put the records", "logs:PutLogEvents", stream, true, streamNote));
      if (key !== undefined) {
        if (key.includes("${") || !/^arn:[^:]+:kms:/.test(key)) {
          unresolved.push({ flowLog: fl.address, what: `kms_key_id of log group ${group}`, value: key, fix: refFix });
        } else {
          requests.push({
            ...base,
            step: "get a data key for the encrypted log group",
            required: true,
            principal: `logs.${fl.region}.amazonaws.com`,
            action: "kms:GenerateDataKey",
            resource: key,
            context: { "kms:EncryptionContext:aws:logs:arn": groupArn },
          });
        }
      }
      continue;
    }

    paths.push({ ...base, template: fl.destination, destination: fl.destination, writes: fl.destination });
    const streamAccount = fl.destination.split(":")[4];
    if (streamAccount === account && !fl.deliverCrossAccountRole) {
      // Same account: the delivery service's service-linked role writes, on streams tagged LogDeliveryEnabled=true.
      for (const action of FIREHOSE_WRITES) {
        requests.push({
          ...base,
          step: "put the records",
          required: true,
          principal: logDeliveryRole(p, account),
          action,
          resource: fl.destination,
          context: { "aws:SecureTransport": "true" },
          note: "AWSServiceRoleForLogDelivery's managed policy allows streams tagged LogDeliveryEnabled=true: check the stream's tag",
        });
      }
      continue;
    }
    // Another account's stream: the delivery service assumes the source-account role (iam_role_arn),
    // which assumes the destination account's role (deliver_cross_account_role), which writes.
    const guide = 'the VPC user guide, "IAM roles for cross account delivery"';
    const source = fl.iamRoleArn;
    const destinationRole = fl.deliverCrossAccountRole;
    if (!source || source.includes("${") || !destinationRole || destinationRole.includes("${")) {
      if (!source || source.includes("${")) {
        unresolved.push({ flowLog: fl.address, what: `iam_role_arn of ${fl.address}`, value: source ?? "nothing", fix: source ? refFix : `Set iam_role_arn to a source-account role: a stream of account ${streamAccount} is written through it (${guide}).` });
      }
      if (!destinationRole || destinationRole.includes("${")) {
        unresolved.push({ flowLog: fl.address, what: `deliver_cross_account_role of ${fl.address}`, value: destinationRole ?? "nothing", fix: destinationRole ? refFix : `Set deliver_cross_account_role to the AWSLogDeliveryFirehoseCrossAccountRole... role of account ${streamAccount} (${guide}).` });
      }
      continue;
    }
    const sourceName = source.slice(source.lastIndexOf("/") + 1);
    requests.push({
      ...base,
      step: "assume the source-account role",
      required: true,
      principal: "delivery.logs.amazonaws.com",
      action: "sts:AssumeRole",
      resource: source,
      context: { "aws:SourceAccount": account, "aws:SourceArn": deliverySourceArnOf(fl) },
    });
    requests.push({
      ...base,
      step: `assume the destination account's role as ${sourceName}`,
      required: true,
      principal: source,
      action: "sts:AssumeRole",
      resource: destinationRole,
      context: {},
      note: `the destination role's trust policy is in account ${streamAccount} (${guide})`,
    });
    for (const action of FIREHOSE_WRITES) {
      requests.push({
        ...base,
        step: "put the records as the destination account's role",
        required: true,
        principal: destinationRole,
        action,
        resource: fl.destination,
        context: { "aws:SecureTransport": "true" },
        note: `the destination role and the stream are in account ${streamAccount}, outside the stack (${guide})`,
      });
    }
  }
  return { paths, requests, unresolved };
}

/** The requests of {@link deliveryPlan}. */
export function deliveryRequests(stack: StackJson, account: string, region: string, options: DeliveryOptions = {}): readonly DeliveryRequest[] {
  return deliveryPlan(stack, account, region, options).requests;
}

/** Each delivery request with AWS's decision on it, from the stack's own policies. */
export function deliveryDecisions(stack: StackJson, account: string, region: string, options: DeliveryOptions = {}): { readonly request: DeliveryRequest; readonly decision: AccessDecision }[] {
  const model = stackModel(stack, { account, region }, options);
  return deliveryPlanOf(stack, model, options.at).requests.map((request) => ({ request, decision: evaluate(request, model.policiesFor(request.principal, request.resource)) }));
}

/**
 * The bucket's default encryption: a customer managed key (with or without an S3 Bucket Key),
 * none (SSE-S3), or "unknown" when neither the stack nor its companions define the bucket.
 */
function bucketEncryption(stacks: readonly { stack: StackJson; model: StackModel }[], bucketArn: string): { keyArn: string; bucketKey: boolean } | undefined | "unknown" {
  const bucketName = bucketArn.slice(bucketArn.indexOf(":::") + 3);
  const owner = stacks.find(({ stack, model }) => Object.keys(stack.resource?.aws_s3_bucket ?? {}).some((n) => model.attribute(`aws_s3_bucket.${n}`, "bucket") === bucketName));
  if (!owner) return "unknown";
  const { stack, model } = owner;
  for (const config of Object.values(stack.resource?.aws_s3_bucket_server_side_encryption_configuration ?? {})) {
    if (model.resolve(String(config.bucket ?? "")) !== bucketName) continue;
    const rules = (Array.isArray(config.rule) ? config.rule : [config.rule]) as Record<string, unknown>[];
    for (const rule of rules) {
      const byDefault = rule?.apply_server_side_encryption_by_default as Record<string, unknown> | undefined;
      if (!byDefault || !String(byDefault.sse_algorithm ?? "").startsWith("aws:kms")) continue;
      const id = typeof byDefault.kms_master_key_id === "string" ? model.resolve(byDefault.kms_master_key_id) : "";
      // Without a key id S3 uses the AWS managed aws/s3 key, whose policy admits no delivery service.
      const keyArn = id === "" ? "alias/aws/s3" : /^[0-9a-f-]{36}$/.test(id) ? `arn:${partitionOf(model.context.region)}:kms:${model.context.region}:${model.context.account}:key/${id}` : id;
      return { keyArn, bucketKey: rule.bucket_key_enabled === true };
    }
  }
  return undefined;
}

function groupDefinedInStack(stack: StackJson, model: StackModel, groupArn: string): boolean {
  return Object.keys(stack.resource?.aws_cloudwatch_log_group ?? {}).some((n) => model.attribute(`aws_cloudwatch_log_group.${n}`, "arn") === groupArn);
}

/**
 * The KMS key of a log group defined in the stack, resolved; undefined when it has none or is not
 * in the stack. By ARN: groups of the same name live in several Regions.
 */
function groupKey(stack: StackJson, model: StackModel, groupArn: string): string | undefined {
  const name = Object.keys(stack.resource?.aws_cloudwatch_log_group ?? {}).find((n) => model.attribute(`aws_cloudwatch_log_group.${n}`, "arn") === groupArn);
  if (!name) return undefined;
  const key = stack.resource!.aws_cloudwatch_log_group![name]!.kms_key_id;
  return typeof key === "string" ? model.resolve(key) : undefined;
}
