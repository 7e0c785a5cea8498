import { Construct } from "constructs";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { AccountContext, findingsTopicPolicy, partitionOf } from "../policies/iam";

export interface AlertingProps extends AccountContext {
  /** Environment name; the topic is `flowlogs-<name>-findings`. */
  readonly name: string;
  /** The environment key; the topic is encrypted with it. */
  readonly kmsKeyArn: string;
}

/**
 * The SNS topic findings and alarms are published to, with its own policy: SNS's default policy
 * is not in the stack, so neither a review nor `flowlog-kit access` could tell who may publish.
 */
export class Alerting extends Construct {
  readonly topic: SnsTopic;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const name = `flowlogs-${props.name}-findings`;
    this.topic = new SnsTopic(this, "Topic", {
      name,
      displayName: `flowlog-kit ${props.name} findings`,
      kmsMasterKeyId: props.kmsKeyArn,
    });
    const topicArn = `arn:${partitionOf(props.region)}:sns:${props.region}:${props.account}:${name}`;
    new SnsTopicPolicy(this, "Policy", { arn: this.topic.arn, policy: JSON.stringify(findingsTopicPolicy(props, topicArn)) });
  }
}
