import { Construct } from "constructs";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";

export interface AlertingProps {
  /** Environment name; the topic is `flowlogs-<name>-findings`. */
  readonly name: string;
  /** The environment key; the topic is encrypted with it. */
  readonly kmsKeyArn: string;
}

/** The SNS topic findings and alarms are published to. */
export class Alerting extends Construct {
  readonly topic: SnsTopic;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    this.topic = new SnsTopic(this, "Topic", {
      name: `flowlogs-${props.name}-findings`,
      displayName: `flowlog-kit ${props.name} findings`,
      kmsMasterKeyId: props.kmsKeyArn,
    });
  }
}
