import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { RBAC_POLICIES, RBAC_ROLES, RbacRole, rbacRoleName, RbacScope, rbacTrustPolicy } from "../policies/rbac";

export interface RbacProps {
  /** Which roles to create, and who may assume each. */
  readonly roles: Partial<Record<RbacRole, { readonly principals: readonly string[] }>>;
  /**
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use.html#id_roles_use_view-role-max-session
   */
  readonly maxSessionHours: number;
  /** @default - no permissions boundary */
  readonly permissionsBoundaryArn?: string;
  /** The environment resources every policy is scoped to. */
  readonly scope: RbacScope;
}

/** SecurityAnalyst, SecurityEngineer and Auditor roles for one environment, MFA required. */
export class Rbac extends Construct {
  readonly roles: Partial<Record<RbacRole, IamRole>> = {};

  constructor(scope: Construct, id: string, props: RbacProps) {
    super(scope, id);
    for (const role of RBAC_ROLES) {
      const config = props.roles[role];
      if (!config) continue;
      const iamRole = new IamRole(this, role, {
        name: rbacRoleName(props.scope.environment, role),
        description: `flowlog-kit ${props.scope.environment}: ${role}`,
        assumeRolePolicy: JSON.stringify(rbacTrustPolicy(config.principals)),
        maxSessionDuration: props.maxSessionHours * 3600,
        permissionsBoundary: props.permissionsBoundaryArn,
      });
      new IamRolePolicy(this, `${role}Policy`, {
        name: role,
        role: iamRole.id,
        policy: JSON.stringify(RBAC_POLICIES[role](props.scope)),
      });
      this.roles[role] = iamRole;
    }
  }
}
