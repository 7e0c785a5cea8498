import { Construct } from "constructs";
import { TerraformProvider } from "cdktf";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { AccountContext, kmsKeyPolicy, PolicyDocument } from "../policies/iam";

export interface EnvironmentKeyProps extends AccountContext {
  /** Environment name; the alias is `alias/flowlogs-<name>`. */
  readonly name: string;
  /**
   * Use this key instead of creating one. Its key policy must already allow CloudWatch Logs
   * and log delivery, which the kit cannot check.
   * @default - a key is created, with rotation on
   */
  readonly existingKeyArn?: string;
  /**
   * The key policy of a created key.
   * @default - kmsKeyPolicy: CloudWatch Logs, alarms and log delivery of this account
   */
  readonly policy?: PolicyDocument;
  /** @default "flowlog-kit <name>: flow-log group and archive encryption" */
  readonly description?: string;
  /**
   * The provider of the key's Region (`region`): CloudWatch Logs encrypts a log group only with
   * a key of the group's own Region.
   * @default - the stack's default provider
   */
  readonly provider?: TerraformProvider;
}

/** The KMS key that encrypts the environment's log group and archive. */
export class EnvironmentKey extends Construct {
  /** ARN of the key, created or given. */
  readonly keyArn: string;
  /** The created key; undefined when an existing key is used. */
  readonly key?: KmsKey;

  constructor(scope: Construct, id: string, props: EnvironmentKeyProps) {
    super(scope, id);
    if (props.existingKeyArn !== undefined) {
      this.keyArn = props.existingKeyArn;
      return;
    }
    this.key = new KmsKey(this, "Key", {
      provider: props.provider,
      description: props.description ?? `flowlog-kit ${props.name}: flow-log group and archive encryption`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify(props.policy ?? kmsKeyPolicy(props)),
    });
    // Aliases are regional: each Region's key has the same alias there.
    new KmsAlias(this, "Alias", { provider: props.provider, name: `alias/flowlogs-${props.name}`, targetKeyId: this.key.keyId });
    this.keyArn = this.key.arn;
  }
}
