import { Construct } from "constructs";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { AccountContext, kmsKeyPolicy } from "../policies/iam";

export interface EnvironmentKeyProps extends AccountContext {
  /** Environment name; the alias is `alias/flowlogs-<name>`. */
  readonly name: string;
  /**
   * Use this key instead of creating one. Its key policy must already allow CloudWatch Logs
   * and log delivery, which the kit cannot check.
   * @default - a key is created, with rotation on
   */
  readonly existingKeyArn?: string;
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
      description: `flowlog-kit ${props.name}: flow-log group and archive encryption`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify(kmsKeyPolicy(props)),
    });
    new KmsAlias(this, "Alias", { name: `alias/flowlogs-${props.name}`, targetKeyId: this.key.keyId });
    this.keyArn = this.key.arn;
  }
}
