import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { AccountContext, deliveryPermissions, deliveryTrustPolicy } from "../policies/iam";

export interface DeliveryRoleProps extends AccountContext {
  /** Role name. */
  readonly roleName: string;
  /** The one log group the role may write to. */
  readonly logGroupName: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * The role the flow-logs service assumes to publish to CloudWatch Logs: trusted only for this
 * account's flow logs (aws:SourceAccount, aws:SourceArn) and allowed only on one log group.
 */
export class DeliveryRole extends Construct {
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: DeliveryRoleProps) {
    super(scope, id);
    this.role = new IamRole(this, "Role", {
      name: props.roleName,
      description: `Publishes VPC flow logs to ${props.logGroupName}`,
      assumeRolePolicy: JSON.stringify(deliveryTrustPolicy(props)),
      tags: props.tags,
    });
    new IamRolePolicy(this, "Policy", {
      name: "deliver-to-log-group",
      role: this.role.id,
      policy: JSON.stringify(deliveryPermissions(props, props.logGroupName)),
    });
  }
}
