import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { AccountContext, deliveryPermissions, deliveryTrustPolicy } from "../policies/iam";

export interface DeliveryRoleProps extends AccountContext {
  /** Role name. */
  readonly roleName: string;
  /**
   * The log groups the role may write to: the flow-log group, and any group of its own that an
   * overlapping scope delivers to.
   */
  readonly logGroupNames: readonly string[];
  /** @default {} */
  readonly tags?: Record<string, string>;
}

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
      description: `Publishes VPC flow logs to ${props.logGroupNames[0]}${props.logGroupNames.length > 1 ? ` and ${props.logGroupNames.length - 1} more log group(s)` : ""}`,
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
