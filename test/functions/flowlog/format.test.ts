import { DEFAULT_FIELD_NAMES, FIELDS, fieldsFor, nearestFieldNames, TRANSIT_GATEWAY_DEFAULT_FIELD_NAMES } from "../../../functions/flowlog/fields";
import { LogFormat, LogFormatError } from "../../../functions/flowlog/format";

describe("field catalog", () => {
  it("lists every field once, with versions 2 to 8", () => {
    const names = FIELDS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(FIELDS.map((f) => f.version))).toEqual(new Set([2, 3, 4, 5, 6, 7, 8]));
    expect(names).toEqual(expect.arrayContaining(["traffic-path", "ecs-task-id", "reject-reason", "tgw-id", "packets-lost-blackhole"]));
  });

  it("has the AWS default format: the fourteen version-2 fields in table order", () => {
    expect(DEFAULT_FIELD_NAMES).toEqual([
      "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
      "protocol", "packets", "bytes", "start", "end", "action", "log-status",
    ]);
  });

  it("keeps transit-gateway-only fields out of VPC, subnet and ENI flow logs, and VPC-only fields out of TGW logs", () => {
    const eni = fieldsFor("eni").map((f) => f.name);
    expect(eni).not.toContain("tgw-id");
    expect(eni).toContain("interface-id");
    const tgw = fieldsFor("transit-gateway").map((f) => f.name);
    expect(tgw).toContain("tgw-attachment-id");
    expect(tgw).not.toContain("action");
    expect(tgw).not.toContain("interface-id");
  });

  it("suggests the nearest valid names for a misspelling", () => {
    expect(nearestFieldNames("dstadr")[0]).toBe("dstaddr");
    expect(nearestFieldNames("log_status")).toContain("log-status");
    expect(nearestFieldNames("zzzzzzzzzzzzzz")).toEqual([]);
  });
});

describe("LogFormat", () => {
  it("builds the ${...} string in the given order", () => {
    const f = LogFormat.custom(["srcaddr", "dstaddr", "flow-direction"], "vpc");
    expect(f.toAwsFormat()).toBe("${srcaddr} ${dstaddr} ${flow-direction}");
    expect(f.version).toBe(5);
    expect(f.isDefault).toBe(false);
  });

  it("marks the AWS default so no log_format is sent for it", () => {
    expect(LogFormat.DEFAULT.isDefault).toBe(true);
    expect(LogFormat.DEFAULT.version).toBe(2);
    expect(LogFormat.DEFAULT.names).toEqual(DEFAULT_FIELD_NAMES);
  });

  it("captures every field an ENI accepts with allFor", () => {
    const all = LogFormat.allFor("eni");
    expect(all.names).toContain("reject-reason");
    expect(all.names).not.toContain("tgw-id");
    expect(all.version).toBe(8);
  });

  it("refuses unknown, unsupported and duplicate fields, listing each problem", () => {
    let error: LogFormatError | undefined;
    try {
      LogFormat.custom(["srcadr", "tgw-id", "bytes", "bytes"], "eni");
    } catch (err) {
      error = err as LogFormatError;
    }
    expect(error).toBeInstanceOf(LogFormatError);
    expect(error!.problems).toEqual([
      'unknown field "srcadr"; did you mean "srcaddr"?',
      'field "tgw-id" exists only in transit gateway flow logs, not for a eni',
      'field "bytes" is listed twice',
    ]);
  });

  it("refuses an empty field list", () => {
    expect(() => LogFormat.custom([], "vpc")).toThrow("a custom log format needs at least one field");
  });

  it("refuses a VPC-only field on a transit gateway", () => {
    expect(() => LogFormat.custom(["action"], "transit-gateway")).toThrow('field "action" exists only in VPC flow logs, not for a transit-gateway');
  });
});

describe("transit-gateway formats", () => {
  it("have the Transit Gateway default: every transit-gateway field of versions 2 to 6, resource-type and tgw-* before the addresses", () => {
    const names = LogFormat.TRANSIT_GATEWAY_DEFAULT.names;
    expect(new Set(names)).toEqual(new Set(fieldsFor("transit-gateway").filter((f) => f.version <= 6).map((f) => f.name)));
    expect(names.slice(0, 5)).toEqual(["version", "resource-type", "account-id", "tgw-id", "tgw-attachment-id"]);
    expect(names.slice(-9)).toEqual(["packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded", "packets-lost-ttl-expired", "tcp-flags", "region", "flow-direction", "pkt-src-aws-service", "pkt-dst-aws-service"]);
    expect(TRANSIT_GATEWAY_DEFAULT_FIELD_NAMES).toEqual(names);
  });

  it("are of the transit-gateway family, and written out as log_format rather than left to AWS", () => {
    expect(LogFormat.TRANSIT_GATEWAY_DEFAULT).toMatchObject({ family: "tgw", isDefault: false });
    expect(LogFormat.custom(["srcaddr", "tcp-flags"], "transit-gateway-attachment").family).toBe("tgw");
    expect(LogFormat.allFor("transit-gateway").family).toBe("tgw");
    expect(LogFormat.DEFAULT.family).toBe("vpc");
    expect(LogFormat.custom(["srcaddr"], "eni").family).toBe("vpc");
  });

  it("accept tcp-flags, which transit gateways record too", () => {
    expect(LogFormat.custom(["tcp-flags"], "transit-gateway").names).toEqual(["tcp-flags"]);
  });
});
