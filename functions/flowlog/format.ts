import {
  DEFAULT_FIELD_NAMES,
  familyOf,
  fieldByName,
  fieldsFor,
  FieldSpec,
  FlowLogResourceType,
  nearestFieldNames,
  supports,
  TRANSIT_GATEWAY_DEFAULT_FIELD_NAMES,
} from "./fields";

/** A field list that cannot become a log format; `problems` holds one sentence per bad field. */
export class LogFormatError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "LogFormatError";
  }
}

/**
 * The fields of a flow log, in record order. Built only from the field catalog, so the
 * `${...}` string, parse patterns and column lists derived from it can never disagree.
 */
export class LogFormat {
  /** The AWS default format (version-2 fields); `log_format` is left unset for it. */
  static readonly DEFAULT = new LogFormat(DEFAULT_FIELD_NAMES.map((n) => fieldByName(n)!), true);

  /**
   * The AWS default format of transit-gateway flow logs (versions 2 to 6, in the Transit
   * Gateway table's order). It is written out as `log_format` rather than left unset: the
   * order is then part of the plan that the parse pattern and the Athena columns rely on, and
   * Logs Insights, which discovers fields only in the VPC default format, needs a parse for it.
   * @see https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-logs-default
   */
  static readonly TRANSIT_GATEWAY_DEFAULT = new LogFormat(TRANSIT_GATEWAY_DEFAULT_FIELD_NAMES.map((n) => fieldByName(n)!), false, "tgw");

  /**
   * A custom format for a flow log on `resource`.
   * @throws LogFormatError listing every unknown field (with the nearest valid names), every
   * field the resource type does not support, every duplicate, and an empty list.
   */
  static custom(names: readonly string[], resource: FlowLogResourceType): LogFormat {
    const problems: string[] = [];
    if (names.length === 0) problems.push("a custom log format needs at least one field");
    const seen = new Set<string>();
    const fields: FieldSpec[] = [];
    for (const name of names) {
      const field = fieldByName(name);
      if (!field) {
        const near = nearestFieldNames(name);
        problems.push(
          `unknown field "${name}"` + (near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(", ")}?` : ""),
        );
        continue;
      }
      if (!supports(resource, field)) {
        problems.push(`field "${name}" exists only in ${field.family === "tgw" ? "transit gateway" : "VPC"} flow logs, not for a ${resource}`);
        continue;
      }
      if (seen.has(name)) {
        problems.push(`field "${name}" is listed twice`);
        continue;
      }
      seen.add(name);
      fields.push(field);
    }
    if (problems.length) throw new LogFormatError(problems);
    return new LogFormat(fields, false, familyOf(resource));
  }

  /** Every field AWS accepts on `resource`, in catalog order: what incident logging captures. */
  static allFor(resource: FlowLogResourceType): LogFormat {
    return new LogFormat(fieldsFor(resource), false, familyOf(resource));
  }

  private constructor(
    readonly fields: readonly FieldSpec[],
    /** True for the AWS default format, which needs no `log_format` argument. */
    readonly isDefault: boolean,
    /** The flow logs the format is for: VPC (VPC, subnet, ENI) or transit gateway. */
    readonly family: "vpc" | "tgw" = "vpc",
  ) {}

  /** Field names in record order. */
  get names(): string[] {
    return this.fields.map((field) => field.name);
  }

  /** The record version AWS writes: the highest version among the fields. */
  get version(): number {
    return Math.max(...this.fields.map((field) => field.version));
  }

  /** The value for `aws_flow_log.log_format`: `${version} ${account-id} ...`. */
  toAwsFormat(): string {
    return this.names.map((name) => `\${${name}}`).join(" ");
  }

  has(name: string): boolean {
    return this.fields.some((field) => field.name === name);
  }
}
