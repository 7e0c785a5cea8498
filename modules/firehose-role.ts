import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { FlowLogResourceType } from "../functions/flowlog/fields";
import { AccountContext, firehoseSourcePermissions, firehoseSourceTrustPolicy, flowLogResourceArn, partitionOf } from "../policies/iam";

export interface FirehoseSourceRoleProps extends AccountContext {
  /** Role name. */
  readonly roleName: string;
  /** What the cross-account flow logs watch, each in its own Region. */
  readonly targets: readonly {
    readonly resource: FlowLogResourceType;
    readonly id: string;
    readonly region: string;
  }[];
  /** The destination-account roles (`AWSLogDeliveryFirehoseCrossAccountRole...`), one or more. */
  readonly destinationRoleArns: readonly string[];
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * The source-account role of cross-account delivery to Firehose: log delivery assumes it and,
 * from it, the destination account's role that tags the stream. Passed only to log delivery
 * and only for the watched resources.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/firehose-cross-account-delivery.html
 */
export class FirehoseSourceRole extends Construct {
  readonly role: IamRole;
  /** The role's ARN as a literal: the flow logs name it and the destination account trusts it. */
  readonly roleArn: string;

  constructor(scope: Construct, id: string, props: FirehoseSourceRoleProps) {
    super(scope, id);
    this.roleArn = `arn:${partitionOf(props.region)}:iam::${props.account}:role/${props.roleName}`;
    this.role = new IamRole(this, "Role", {
      name: props.roleName,
      description: `Delivers flow logs to Firehose streams of other accounts (${props.destinationRoleArns.length} destination role(s))`,
      assumeRolePolicy: JSON.stringify(firehoseSourceTrustPolicy()),
      tags: props.tags,
    });
    new IamRolePolicy(this, "Policy", {
      name: "deliver-to-firehose-across-accounts",
      role: this.role.id,
      policy: JSON.stringify(
        firehoseSourcePermissions({
          roleArn: this.roleArn,
          resourceArns: [...new Set(props.targets.map((t) => flowLogResourceArn({ account: props.account, region: t.region }, t.resource, t.id)))],
          destinationRoleArns: [...new Set(props.destinationRoleArns)],
        }),
      ),
    });
  }
}
