/**
 * The flow-log field catalog: every field of record versions 2 to 8, in the order of the AWS
 * "Available fields" tables. This is the only field list in the kit; log formats, parse
 * patterns, Athena columns and the record parser are all derived from it.
 *
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html#flow-logs-fields
 * @see https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-log-records
 */

/** The resource a flow log is created on. VPC, subnet and ENI logs share one field set. */
export type FlowLogResourceType = "vpc" | "subnet" | "eni" | "transit-gateway" | "transit-gateway-attachment";

/** Which family of flow logs a field exists in. */
export type FieldFamily = "vpc" | "tgw" | "both";

/** The value type of a field, as in the Parquet data-type column of the AWS table. */
export type FieldType = "int32" | "int64" | "string";

export interface FieldSpec {
  /** The field name as written inside `${...}` in a log format. */
  readonly name: string;
  /** The record version that introduced the field. */
  readonly version: 2 | 3 | 4 | 5 | 6 | 7 | 8;
  readonly type: FieldType;
  readonly family: FieldFamily;
  readonly description: string;
  /**
   * The Parquet type in transit-gateway flow logs, where the two tables disagree (`protocol`
   * is INT_32 in VPC flow logs and INT_64 in transit-gateway flow logs).
   * @default - `type`
   */
  readonly tgwType?: FieldType;
}

const f = (
  name: string,
  version: FieldSpec["version"],
  type: FieldType,
  family: FieldFamily,
  description: string,
  tgwType?: FieldType,
): FieldSpec => Object.freeze(tgwType ? { name, version, type, family, description, tgwType } : { name, version, type, family, description });

export const FIELDS: readonly FieldSpec[] = Object.freeze([
  f("version", 2, "int32", "both", "The flow log record version."),
  f("account-id", 2, "string", "both", "The AWS account ID of the owner of the source network interface."),
  f("interface-id", 2, "string", "vpc", "The ID of the network interface for which the traffic is recorded."),
  f("srcaddr", 2, "string", "both", "The source address of incoming traffic, or the interface address of outgoing traffic."),
  f("dstaddr", 2, "string", "both", "The destination address of outgoing traffic, or the interface address of incoming traffic."),
  f("srcport", 2, "int32", "both", "The source port of the traffic."),
  f("dstport", 2, "int32", "both", "The destination port of the traffic."),
  f("protocol", 2, "int32", "both", "The IANA protocol number of the traffic.", "int64"),
  f("packets", 2, "int64", "both", "The number of packets transferred during the flow."),
  f("bytes", 2, "int64", "both", "The number of bytes transferred during the flow."),
  f("start", 2, "int64", "both", "The time, in Unix seconds, when the first packet of the flow was received within the aggregation interval."),
  f("end", 2, "int64", "both", "The time, in Unix seconds, when the last packet of the flow was received within the aggregation interval."),
  f("action", 2, "string", "vpc", "ACCEPT or REJECT: whether security groups and network ACLs allowed the traffic."),
  f("log-status", 2, "string", "both", "OK, NODATA (no traffic in the interval) or SKIPDATA (records were skipped)."),
  f("vpc-id", 3, "string", "vpc", "The ID of the VPC that contains the network interface."),
  f("subnet-id", 3, "string", "vpc", "The ID of the subnet that contains the network interface."),
  f("instance-id", 3, "string", "vpc", "The ID of the instance the network interface is attached to, if you own it."),
  f("tcp-flags", 3, "int32", "both", "The bitmask of TCP flags seen in the interval: FIN 1, SYN 2, RST 4, SYN-ACK 18."),
  f("type", 3, "string", "both", "The type of traffic: IPv4, IPv6 or EFA."),
  f("pkt-srcaddr", 3, "string", "vpc", "The packet-level (original) source IP address of the traffic."),
  f("pkt-dstaddr", 3, "string", "vpc", "The packet-level (original) destination IP address of the traffic."),
  f("region", 4, "string", "both", "The Region that contains the network interface."),
  f("az-id", 4, "string", "vpc", "The ID of the Availability Zone that contains the network interface."),
  f("sublocation-type", 4, "string", "vpc", "The type of sublocation: wavelength, outpost or localzone."),
  f("sublocation-id", 4, "string", "vpc", "The ID of the sublocation that contains the network interface."),
  f("pkt-src-aws-service", 5, "string", "both", "The name of the subset of IP address ranges for the pkt-srcaddr field, if it belongs to an AWS service."),
  f("pkt-dst-aws-service", 5, "string", "both", "The name of the subset of IP address ranges for the pkt-dstaddr field, if it belongs to an AWS service."),
  f("flow-direction", 5, "string", "both", "The direction of the flow with respect to the interface: ingress or egress."),
  f("traffic-path", 5, "int32", "vpc", "The path that egress traffic takes to the destination (1 to 8)."),
  f("resource-type", 6, "string", "tgw", "The type of resource the flow log is for: TransitGateway or TransitGatewayAttachment."),
  f("tgw-id", 6, "string", "tgw", "The ID of the transit gateway."),
  f("tgw-attachment-id", 6, "string", "tgw", "The ID of the transit gateway attachment."),
  f("tgw-src-vpc-account-id", 6, "string", "tgw", "The account ID of the source VPC."),
  f("tgw-dst-vpc-account-id", 6, "string", "tgw", "The account ID of the destination VPC."),
  f("tgw-src-vpc-id", 6, "string", "tgw", "The ID of the source VPC."),
  f("tgw-dst-vpc-id", 6, "string", "tgw", "The ID of the destination VPC."),
  f("tgw-src-subnet-id", 6, "string", "tgw", "The ID of the source subnet."),
  f("tgw-dst-subnet-id", 6, "string", "tgw", "The ID of the destination subnet."),
  f("tgw-src-eni", 6, "string", "tgw", "The ID of the source transit gateway attachment ENI."),
  f("tgw-dst-eni", 6, "string", "tgw", "The ID of the destination transit gateway attachment ENI."),
  f("tgw-src-az-id", 6, "string", "tgw", "The ID of the Availability Zone of the source."),
  f("tgw-dst-az-id", 6, "string", "tgw", "The ID of the Availability Zone of the destination."),
  f("tgw-pair-attachment-id", 6, "string", "tgw", "The ID of the attachment on the other side of the flow."),
  f("packets-lost-no-route", 6, "int64", "tgw", "Packets lost because no route was specified."),
  f("packets-lost-blackhole", 6, "int64", "tgw", "Packets lost because of a blackhole route."),
  f("packets-lost-mtu-exceeded", 6, "int64", "tgw", "Packets lost because their size exceeded the MTU."),
  f("packets-lost-ttl-expired", 6, "int64", "tgw", "Packets lost because their time-to-live expired."),
  f("ecs-cluster-arn", 7, "string", "vpc", "The ARN of the ECS cluster, if the traffic is from a running ECS task."),
  f("ecs-cluster-name", 7, "string", "vpc", "The name of the ECS cluster."),
  f("ecs-container-instance-arn", 7, "string", "vpc", "The ARN of the ECS container instance (EC2 launch type)."),
  f("ecs-container-instance-id", 7, "string", "vpc", "The ID of the ECS container instance (EC2 launch type)."),
  f("ecs-container-id", 7, "string", "vpc", "The Docker runtime ID of the task's container (first container)."),
  f("ecs-second-container-id", 7, "string", "vpc", "The Docker runtime ID of the task's second container."),
  f("ecs-service-name", 7, "string", "vpc", "The name of the ECS service the task belongs to."),
  f("ecs-task-definition-arn", 7, "string", "vpc", "The ARN of the ECS task definition."),
  f("ecs-task-arn", 7, "string", "vpc", "The ARN of the ECS task."),
  f("ecs-task-id", 7, "string", "vpc", "The ID of the ECS task."),
  f("reject-reason", 8, "string", "vpc", "Why traffic was rejected, e.g. BPA (VPC Block Public Access)."),
]);

const BY_NAME: ReadonlyMap<string, FieldSpec> = new Map(FIELDS.map((field) => [field.name, field]));

/** Looks a field up by name; undefined when the catalog has no such field. */
export function fieldByName(name: string): FieldSpec | undefined {
  return BY_NAME.get(name);
}

/** The family a resource type's flow logs belong to. */
export function familyOf(resource: FlowLogResourceType): "vpc" | "tgw" {
  return resource === "transit-gateway" || resource === "transit-gateway-attachment" ? "tgw" : "vpc";
}

/** Whether AWS accepts the field in a flow log on this resource type. */
export function supports(resource: FlowLogResourceType, field: FieldSpec): boolean {
  return field.family === "both" || field.family === familyOf(resource);
}

/** Every field AWS accepts for a flow log on this resource type, in catalog order. */
export function fieldsFor(resource: FlowLogResourceType): readonly FieldSpec[] {
  return FIELDS.filter((field) => supports(resource, field));
}

/** The AWS default format: all version-2 fields of the VPC family, in table order. */
export const DEFAULT_FIELD_NAMES: readonly string[] = Object.freeze(
  FIELDS.filter((field) => field.version === 2 && field.family !== "tgw").map((field) => field.name),
);

/** The packets-lost-* fields of transit-gateway records, in catalog order: no route, blackhole, MTU exceeded, TTL expired. */
export const PACKETS_LOST_FIELD_NAMES: readonly string[] = Object.freeze(FIELDS.filter((field) => field.name.startsWith("packets-lost-")).map((field) => field.name));

/**
 * The AWS default format of transit-gateway flow logs: every field of versions 2 to 6 that
 * transit gateways have, in the order of the Transit Gateway "Available fields" table (which
 * differs from the VPC table's: `resource-type` and the `tgw-*` fields come before the
 * addresses).
 * @see https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-logs-default
 */
export const TRANSIT_GATEWAY_DEFAULT_FIELD_NAMES: readonly string[] = Object.freeze([
  "version", "resource-type", "account-id", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id", "tgw-dst-vpc-account-id",
  "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id", "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id",
  "tgw-dst-az-id", "tgw-pair-attachment-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start",
  "end", "log-status", "type", "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded",
  "packets-lost-ttl-expired", "tcp-flags", "region", "flow-direction", "pkt-src-aws-service", "pkt-dst-aws-service",
]);

/** Catalog names closest to `name` by edit distance, best first; empty when nothing is close. */
export function nearestFieldNames(name: string, max = 3): string[] {
  const scored = FIELDS.map((field) => ({ name: field.name, d: editDistance(name, field.name) }));
  const limit = Math.max(2, Math.floor(name.length / 3));
  return scored
    .filter((s) => s.d <= limit || s.name.includes(name) || (name.length >= 3 && name.includes(s.name)))
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, max)
    .map((s) => s.name);
}

/** Levenshtein distance, for "did you mean" suggestions (field names here, region codes in policies/). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
