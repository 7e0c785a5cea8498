import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { DeliveryContext, deliveryPermissions, deliveryTrustPolicy, LogGroupRef } from "../policies/iam";

export interface DeliveryRoleProps extends DeliveryContext {
  /** Role name. */
  readonly roleName: string;
  /**
   * The log groups the role may write to: the flow-log group, and any group of its own that an
   * overlapping scope delivers to, each in the context's Region unless it names its own.
   */
  readonly logGroupNames: readonly LogGroupRef[];
  /** @default {} */
  readonly tags?: Record<string, string>;
}

const groupName = (g: LogGroupRef) => (typeof g === "string" ? g : g.name);

/**
 * The role the flow-logs service assumes to publish to CloudWatch Logs: trusted only for this
 * account's flow logs (aws:SourceAccount, aws:SourceArn) and allowed only on its log groups.
 */
export class DeliveryRole extends Construct {
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: DeliveryRoleProps) {
    super(scope, id);
    this.role = new IamRole(this, "Role", {
      name: props.roleName,
      // IAM caps descriptions at 1000 characters; the policy lists every group.
      description: `Publishes VPC flow logs to ${groupName(props.logGroupNames[0]!)}${props.logGroupNames.length > 1 ? ` and ${props.logGroupNames.length - 1} more log group(s)` : ""}`,
      assumeRolePolicy: JSON.stringify(deliveryTrustPolicy(props)),
      tags: props.tags,
    });
    new IamRolePolicy(this, "Policy", {
      name: "deliver-to-log-group",
      role: this.role.id,
      policy: JSON.stringify(deliveryPermissions(props, props.logGroupNames)),
    });
  }
}
