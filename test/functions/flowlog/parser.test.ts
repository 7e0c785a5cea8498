import { Readable } from "stream";
import * as zlib from "zlib";
import { LogFormat } from "../../../functions/flowlog/format";
import { decodeSubscriptionData, insightsRowToLine, newStats, RecordParser, subscriptionMessages } from "../../../functions/flowlog/parser";
import { FlowScanner, formatOfFields, HeaderLine, LineSplitter } from "../../../functions/flowlog/scanner";
import { LogFormatError } from "../../../functions/flowlog/format";
import { tgwLine } from "../../support/flows";
import { streamChunks } from "../../../functions/flowlog/sources";

const custom = (fields: string, resource: "vpc" | "transit-gateway" = "vpc") => LogFormat.custom(fields.split(" "), resource);

// The sample records of the AWS documentation page "Flow log record examples".
describe("parsing the AWS flow log record examples", () => {
  it("default format: accepted SSH and rejected RDP", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")).toEqual({
      interfaceId: "eni-1235b8ca123456789", srcaddr: "172.31.16.139", dstaddr: "172.31.16.21", srcport: 20641, dstport: 22,
      protocol: 6, packets: 20, bytes: 4249, start: 1418530010, end: 1418530070, action: "ACCEPT",
    });
    expect(p.parse("2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK")).toMatchObject({ dstport: 3389, action: "REJECT" });
    expect(p.stats).toEqual({ read: 2, analysed: 2, skipped: {} });
  });

  it("NODATA and SKIPDATA records are counted, not analysed", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA")).toBeUndefined();
    expect(p.parse("2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA")).toBeUndefined();
    expect(p.stats).toEqual({ read: 2, analysed: 0, skipped: { nodata: 1, skipdata: 1 } });
  });

  it("IPv6 addresses", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse("2 123456789010 eni-f41c42bf 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK")).toMatchObject({
      srcaddr: "2001:db8:1234:a100:8d6e:3477:df66:f105", dstaddr: "2001:db8:1234:a102:3304:8879:34cf:4071", dstport: 22, packets: 54, bytes: 8855,
    });
  });

  it("a TCP flag sequence (custom format, version 3)", () => {
    const p = new RecordParser(custom("version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"), newStats(), true);
    const rows = [
      "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-00123456789abcdef 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
      "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-00123456789abcdef 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK",
      "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-00123456789abcdef 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 0 OK",
      "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-00123456789abcdef 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 869 8 1566848875 1566848933 ACCEPT 0 OK",
      "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-00123456789abcdef 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 49 1 1566848933 1566849113 ACCEPT 1 OK",
      "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-00123456789abcdef 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 40 1 1566848933 1566849113 ACCEPT 1 OK",
    ].map((l) => p.parse(l)!);
    expect(rows.map((r) => r.tcpFlags)).toEqual([2, 18, 0, 0, 1, 1]);
    expect(rows[0]).toMatchObject({ bytes: 568, packets: 8, srcport: 43416, dstport: 5001 });
    expect(rows[0]!.fields!["vpc-id"]).toBe("vpc-abcdefab012345678");
    expect(p.stats.analysed).toBe(6);
  });

  it("NAT gateway: packet-level addresses behind the gateway", () => {
    const p = new RecordParser(custom("instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr"));
    expect(p.parse("- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5")).toEqual({
      interfaceId: "eni-1235b8ca123456789", srcaddr: "10.0.1.5", dstaddr: "10.0.0.220", pktSrcaddr: "10.0.1.5", pktDstaddr: "203.0.113.5",
    });
    expect(p.parse("- eni-1235b8ca123456789 10.0.0.220 203.0.113.5 10.0.1.5 203.0.113.5")).toMatchObject({ srcaddr: "10.0.0.220", pktSrcaddr: "10.0.1.5" });
  });

  it("transit gateway traffic seen from VPC interfaces", () => {
    const p = new RecordParser(custom("version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol tcp-flags type pkt-srcaddr pkt-dstaddr action log-status"));
    expect(p.parse("3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb - 10.20.33.164 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK")).toMatchObject({
      interfaceId: "eni-33333333333333333", dstport: 80, tcpFlags: 3, pktSrcaddr: "10.20.33.164", action: "ACCEPT",
    });
    expect(p.parse("3 eni-11111111111111111 123456789010 vpc-abcdefab012345678 subnet-11111111aaaaaaaaa - 10.40.1.175 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK")).toMatchObject({
      srcaddr: "10.40.1.175", pktSrcaddr: "10.20.33.164",
    });
  });

  it("version 5: AWS service, traffic path and flow direction", () => {
    const p = new RecordParser(
      custom("version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status"),
      newStats(),
      true,
    );
    const ingress = p.parse("5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-0c3f5c0e1e8b1a96e i-1234567890abcdef0 eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK")!;
    expect(ingress).toMatchObject({ flowDirection: "ingress", tcpFlags: 19, bytes: 15044 });
    expect(ingress.trafficPath).toBeUndefined();
    expect(ingress.fields!["pkt-src-aws-service"]).toBe("S3");
    const egress = p.parse("5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-0c3f5c0e1e8b1a96e i-1234567890abcdef0 eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK")!;
    expect(egress).toMatchObject({ flowDirection: "egress", trafficPath: 8, dstport: 80 });
    expect(egress.fields!["pkt-dst-aws-service"]).toBe("S3");
    expect(egress.fields!["sublocation-id"]).toBeUndefined();
  });

  it("transit gateway flow logs in their own format", () => {
    const p = new RecordParser(custom("version resource-type account-id tgw-id tgw-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status packets-lost-blackhole", "transit-gateway"), newStats(), true);
    const r = p.parse("6 TransitGatewayAttachment 123456789010 tgw-0123456789abcdef0 tgw-attach-0123456789abcdef0 10.0.1.5 10.1.2.3 40000 443 6 10 5000 1700000000 1700000060 OK 0")!;
    expect(r).toMatchObject({ srcaddr: "10.0.1.5", dstport: 443, bytes: 5000 });
    expect(r.fields!["tgw-id"]).toBe("tgw-0123456789abcdef0");
  });
});

// The Transit Gateway guide describes every field ("Transit Gateway Flow Log records") but gives
// no example records: these follow its default format, with values as its table describes them.
describe("parsing transit gateway flow log records", () => {
  const TGW = LogFormat.TRANSIT_GATEWAY_DEFAULT;

  it("the default format: all 36 fields of versions 2 to 6, field by field", () => {
    const p = new RecordParser(TGW, newStats(), true);
    const text =
      "6 TransitGatewayAttachment 123456789012 tgw-0a1b2c3d4e5f60718 tgw-attach-0aaaa1111bbbb2222 123456789012 210987654321 " +
      "vpc-0aaaa1111bbbb2222 vpc-0cccc3333dddd4444 subnet-0aaaa1111bbbb2222 subnet-0cccc3333dddd4444 eni-0aaaa1111bbbb2222 eni-0cccc3333dddd4444 " +
      "use1-az1 use1-az2 tgw-attach-0cccc3333dddd4444 10.0.1.5 10.1.2.7 49152 443 6 12 4380 1700000000 1700000060 OK IPv4 3 2 1 4 19 us-east-1 ingress - S3";
    const r = p.parse(text)!;
    expect(r.fields).toEqual({
      version: "6", "resource-type": "TransitGatewayAttachment", "account-id": "123456789012", "tgw-id": "tgw-0a1b2c3d4e5f60718", "tgw-attachment-id": "tgw-attach-0aaaa1111bbbb2222",
      "tgw-src-vpc-account-id": "123456789012", "tgw-dst-vpc-account-id": "210987654321", "tgw-src-vpc-id": "vpc-0aaaa1111bbbb2222", "tgw-dst-vpc-id": "vpc-0cccc3333dddd4444",
      "tgw-src-subnet-id": "subnet-0aaaa1111bbbb2222", "tgw-dst-subnet-id": "subnet-0cccc3333dddd4444", "tgw-src-eni": "eni-0aaaa1111bbbb2222", "tgw-dst-eni": "eni-0cccc3333dddd4444",
      "tgw-src-az-id": "use1-az1", "tgw-dst-az-id": "use1-az2", "tgw-pair-attachment-id": "tgw-attach-0cccc3333dddd4444", srcaddr: "10.0.1.5", dstaddr: "10.1.2.7",
      srcport: "49152", dstport: "443", protocol: "6", packets: "12", bytes: "4380", start: "1700000000", end: "1700000060", "log-status": "OK", type: "IPv4",
      "packets-lost-no-route": "3", "packets-lost-blackhole": "2", "packets-lost-mtu-exceeded": "1", "packets-lost-ttl-expired": "4", "tcp-flags": "19", region: "us-east-1",
      "flow-direction": "ingress", "pkt-src-aws-service": undefined, "pkt-dst-aws-service": "S3",
    });
    // What detection reads of it: the attachment stands where a VPC record's interface does, and no action.
    const { fields, ...record } = r;
    expect(record).toEqual({
      interfaceId: "tgw-attach-0aaaa1111bbbb2222", srcaddr: "10.0.1.5", dstaddr: "10.1.2.7", srcport: 49152, dstport: 443, protocol: 6, packets: 12, bytes: 4380,
      start: 1700000000, end: 1700000060, tcpFlags: 19, flowDirection: "ingress", packetsLostNoRoute: 3, packetsLostBlackhole: 2, packetsLostMtuExceeded: 1, packetsLostTtlExpired: 4,
    });
    expect(p.stats).toEqual({ read: 1, analysed: 1, skipped: {} });
  });

  it("IPv6 traffic, egress at the other attachment, and an absent loss count", () => {
    const p = new RecordParser(TGW);
    const r = p.parse(tgwLine({ src: "2001:db8:1::5", dst: "2001:db8:2::7", dstport: 22, direction: "egress", attachment: "tgw-attach-0cccc3333dddd4444", lost: { blackhole: "-" } }))!;
    expect(r).toMatchObject({ srcaddr: "2001:db8:1::5", dstaddr: "2001:db8:2::7", flowDirection: "egress", interfaceId: "tgw-attach-0cccc3333dddd4444", packetsLostNoRoute: 0 });
    expect(r.packetsLostBlackhole).toBeUndefined();
    expect(r.action).toBeUndefined();
  });

  it("NODATA and SKIPDATA records are counted, not analysed, as VPC ones are", () => {
    const p = new RecordParser(TGW);
    const idle = "6 TransitGateway 123456789012 tgw-0a1b2c3d4e5f60718 tgw-attach-0aaaa1111bbbb2222 - - - - - - - - - - - - - - - - - - 1700000000 1700000060 NODATA - - - - - - us-east-1 - - -";
    expect(p.parse(idle)).toBeUndefined();
    expect(p.parse(idle.replace("NODATA", "SKIPDATA"))).toBeUndefined();
    expect(p.stats).toEqual({ read: 2, analysed: 0, skipped: { nodata: 1, skipdata: 1 } });
  });

  it("a packets-lost count that is negative or past 2^44 (as no record holds) is an invalid value; 2^44 itself is not", () => {
    const p = new RecordParser(TGW);
    const at = (lost: Parameters<typeof tgwLine>[0]["lost"]) => p.parse(tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost }));
    expect(at({ noRoute: -1 })).toBeUndefined();
    expect(at({ blackhole: 2 ** 44 + 1 })).toBeUndefined();
    expect(at({ mtuExceeded: "100000000000000000000000" as never })).toBeUndefined();
    expect(at({ ttlExpired: 2 ** 44 })).toMatchObject({ packetsLostTtlExpired: 2 ** 44 });
    expect(p.stats).toEqual({ read: 4, analysed: 1, skipped: { "invalid-value": 3 } });
  });
});

describe("the format a list of fields names", () => {
  it("is a transit gateway format when a field exists only in transit gateway flow logs, else a VPC one", () => {
    expect(formatOfFields(["srcaddr", "dstaddr", "tgw-attachment-id", "packets-lost-blackhole"]).family).toBe("tgw");
    expect(formatOfFields(["srcaddr", "dstaddr", "action"]).family).toBe("vpc");
    expect(formatOfFields(["srcaddr", "dstaddr", "flow-direction"]).family).toBe("vpc");
    expect(formatOfFields(LogFormat.TRANSIT_GATEWAY_DEFAULT.names).names).toEqual(LogFormat.TRANSIT_GATEWAY_DEFAULT.names);
  });

  it("refuses transit gateway fields mixed with VPC fields, naming both, and lists every other problem after", () => {
    const problems = (names: string[]) => {
      try {
        formatOfFields(names);
      } catch (err) {
        expect(err).toBeInstanceOf(LogFormatError);
        return (err as LogFormatError).problems;
      }
      throw new Error("no LogFormatError");
    };
    expect(problems(["tgw-id", "srcaddr", "action"])).toEqual(['field "tgw-id" exists only in transit gateway flow logs and field "action" only in VPC flow logs: no flow log has both']);
    expect(problems(["tgw-id", "tgw-attachment-id", "packets-lost-mtu-exceeded", "interface-id", "action", "srcadr"])).toEqual([
      'fields "tgw-id", "tgw-attachment-id" and "packets-lost-mtu-exceeded" exist only in transit gateway flow logs and fields "interface-id" and "action" only in VPC flow logs: no flow log has both',
      'unknown field "srcadr"; did you mean "srcaddr"?',
    ]);
    expect(problems(["tgw-id", "tgw-id"])).toEqual(['field "tgw-id" is listed twice']);
  });
});

describe("bad lines are counted by reason, never thrown or dropped silently", () => {
  it("too few and too many fields, non-numeric counters", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6")).toBeUndefined();
    expect(p.parse("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK extra")).toBeUndefined();
    expect(p.parse("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 many 1 1 2 ACCEPT OK")).toBeUndefined();
    expect(p.parse("")).toBeUndefined();
    expect(p.stats).toEqual({ read: 3, analysed: 0, skipped: { "too-few-fields": 1, "too-many-fields": 1, "non-numeric": 1 } });
  });

  it("a control character inside a line, a number with a sign, trailing spaces and CRLF", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse("2 123456789010 eni-1 10.0.0.1\x0110.0.0.2 1 2 6 1 1 1 2 ACCEPT OK")).toBeUndefined();
    expect(p.parse("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 +1 1 1 2 ACCEPT OK")).toBeUndefined();
    expect(p.parse("  2 123456789010 eni-1 10.0.0.1  10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK  \r")).toMatchObject({ srcaddr: "10.0.0.1", dstaddr: "10.0.0.2", packets: 1 });
    expect(p.stats).toEqual({ read: 3, analysed: 1, skipped: { "control-character": 1, "non-numeric": 1 } });
  });

  it("reads ENI ids as numbers only when that is exact: other spellings stay distinct interfaces", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    const ids = ["eni-0123456789abcdef0", "eni-0123456789ABCDEF0", "eni-0123456789abcdef", "eni-0123456789abcdef01", "tgw-attach-0123456789abcdef0", "eni-0123456789abcdef0"];
    const seen = ids.map((id) => p.parse(`2 123456789010 ${id} 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK`)!.interfaceId);
    expect(seen).toEqual(ids);
  });

  it("reads IPv4 addresses as numbers, IPv6 ones by their text; any other spelling is no address", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    const addrs = ["10.0.0.1", "10.0.0.01", "256.0.0.1", "10.0.0", "1.2.3.4.5", "10.0.0.1", "2001:db8::7", "2001:DB8::7", "::ffff:10.0.0.1"];
    const seen = addrs.map((a) => p.parse(`2 123456789010 eni-1 ${a} 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK`)?.srcaddr);
    expect(seen).toEqual(["10.0.0.1", undefined, undefined, undefined, undefined, "10.0.0.1", "2001:db8::7", "2001:DB8::7", "::ffff:10.0.0.1"]);
    expect(p.stats.skipped).toEqual({ "invalid-value": 4 });
  });

  it("switches to the format a header line names", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse("srcaddr dstaddr dstport bytes")).toBeUndefined();
    expect(p.parse("10.0.0.1 10.0.0.2 443 1200")).toEqual({ srcaddr: "10.0.0.1", dstaddr: "10.0.0.2", dstport: 443, bytes: 1200 });
    expect(p.stats.read).toBe(1);
  });
});

/** The AWS example record (accepted SSH) with some fields replaced. */
const example = (replace: Partial<Record<"srcaddr" | "dstaddr" | "srcport" | "dstport" | "protocol" | "packets" | "bytes" | "start" | "end" | "action" | "log-status", string>>) =>
  LogFormat.DEFAULT.names
    .map((name) => replace[name as keyof typeof replace] ?? { version: "2", "account-id": "123456789010", "interface-id": "eni-1235b8ca123456789", srcaddr: "172.31.16.139", dstaddr: "172.31.16.21", srcport: "20641", dstport: "22", protocol: "6", packets: "20", bytes: "4249", start: "1418530010", end: "1418530070", action: "ACCEPT", "log-status": "OK" }[name])
    .join(" ");

describe("impossible values are skipped as invalid-value, never analysed", () => {
  it.each([
    ["bytes 1e23 (as digits)", { bytes: "100000000000000000000000" }],
    ["bytes one past 2^48", { bytes: String(2 ** 48 + 1) }],
    ["bytes of 15 digits past 2^48", { bytes: "999999999999999" }],
    ["negative bytes", { bytes: "-4249" }],
    ["packets one past 2^44", { packets: String(2 ** 44 + 1) }],
    ["negative packets", { packets: "-20" }],
    ["source 999.999.999.999", { srcaddr: "999.999.999.999" }],
    ["destination 10.0.0.256", { dstaddr: "10.0.0.256" }],
    ["an address that is a word", { srcaddr: "localhost" }],
    ["an IPv6 address with two ::", { srcaddr: "2001:db8::1::2" }],
    ["an IPv6 address with a zone index", { dstaddr: "fe80::1%eth0" }],
    ["destination port 70000", { dstport: "70000" }],
    ["source port 65536", { srcport: "65536" }],
    ["protocol 300", { protocol: "300" }],
    ["protocol 256", { protocol: "256" }],
    ["action MAYBE", { action: "MAYBE" }],
    ["action accept (lower case)", { action: "accept" }],
    ["action ACCEPTED", { action: "ACCEPTED" }],
    ["log-status DONE", { "log-status": "DONE" }],
    ["end before start", { end: "1418530009" }],
    ["end before start on a NODATA record", { end: "1418530009", "log-status": "NODATA" }],
  ])("%s", (_what, replace) => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse(example(replace))).toBeUndefined();
    expect(p.stats).toEqual({ read: 1, analysed: 0, skipped: { "invalid-value": 1 } });
  });

  it("the largest valid values, and end equal to start, are analysed", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse(example({ srcport: "65535", dstport: "0", protocol: "255", packets: String(2 ** 44), bytes: String(2 ** 48), end: "1418530010" }))).toMatchObject({ srcport: 65535, protocol: 255, bytes: 2 ** 48, end: 1418530010 });
    expect(p.parse(example({ action: "REJECT", srcaddr: "::", dstaddr: "0.0.0.0" }))).toMatchObject({ action: "REJECT", srcaddr: "::" });
    expect(p.stats).toEqual({ read: 2, analysed: 2, skipped: {} });
  });

  it("a value that is not a number at all stays non-numeric (1e23 written with an exponent, a plus sign)", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse(example({ bytes: "1e23" }))).toBeUndefined();
    expect(p.parse(example({ bytes: "+4249" }))).toBeUndefined();
    expect(p.stats.skipped).toEqual({ "non-numeric": 2 });
  });

  it("- (an absent value, as NODATA and SKIPDATA records hold) is still absent, not invalid", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse(example({ srcaddr: "-", srcport: "-", protocol: "-", bytes: "-", action: "-" }))).toEqual(expect.not.objectContaining({ srcaddr: expect.anything(), bytes: expect.anything(), action: expect.anything() }));
    expect(p.parse("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA")).toBeUndefined();
    expect(p.stats).toEqual({ read: 2, analysed: 1, skipped: { nodata: 1 } });
  });

  it("flow-direction other than ingress or egress, tcp-flags past 255 and an invalid packet-level address (version 5)", () => {
    const p = new RecordParser(custom("srcaddr dstaddr pkt-srcaddr tcp-flags flow-direction"));
    expect(p.parse("10.0.0.1 10.0.0.2 10.0.0.3 18 egress")).toMatchObject({ flowDirection: "egress", tcpFlags: 18 });
    expect(p.parse("10.0.0.1 10.0.0.2 10.0.0.3 18 sideways")).toBeUndefined();
    expect(p.parse("10.0.0.1 10.0.0.2 10.0.0.3 256 ingress")).toBeUndefined();
    expect(p.parse("10.0.0.1 10.0.0.2 10.0.0.300 18 ingress")).toBeUndefined();
    expect(p.stats).toEqual({ read: 4, analysed: 1, skipped: { "invalid-value": 3 } });
  });

  it("once a run stops interning addresses (the row budget ran out), addresses are still checked", () => {
    const stats = newStats();
    const scanner = new FlowScanner(LogFormat.DEFAULT, stats);
    scanner.stopInterning();
    const lines = Buffer.from(`${example({})}\n${example({ srcaddr: "999.999.999.999" })}\n`);
    let records = 0;
    scanner.scanLines(lines, 0, lines.length, () => records++);
    expect(records).toBe(1);
    expect(scanner.addr[0]).toBe(-1);
    expect(stats.skipped).toEqual({ "invalid-value": 1 });
  });
});

describe("header lines", () => {
  it("a header naming a field the catalog lacks is no data: the lines under it are skipped (bad-header) up to the next header, and the header is reported with the nearest names", () => {
    const headers: HeaderLine[] = [];
    const stats = newStats();
    const scanner = new FlowScanner(LogFormat.DEFAULT, stats);
    scanner.onHeader = (h) => headers.push(h);
    const text = [
      "version account-id interface-id srcaddr dstadr srcport dstport protocol packets bytes start end action log-status",
      example({}),
      example({}),
      "srcaddr dstaddr dstport bytes",
      "10.0.0.1 10.0.0.2 443 1200",
    ].join("\n");
    const buf = Buffer.from(`${text}\n`);
    let records = 0;
    scanner.scanLines(buf, 0, buf.length, () => records++);
    expect(headers.map((h) => h.problems)).toEqual([['unknown field "dstadr"; did you mean "dstaddr"?'], undefined]);
    expect(headers[1]!.format!.names).toEqual(["srcaddr", "dstaddr", "dstport", "bytes"]);
    expect(records).toBe(1);
    expect(stats).toEqual({ read: 3, analysed: 1, skipped: { "bad-header": 2 } });
  });

  it("a header with a field listed twice, or mixing transit gateway and VPC fields, names no format either", () => {
    const headers: HeaderLine[] = [];
    const scanner = new FlowScanner(LogFormat.DEFAULT, newStats());
    scanner.onHeader = (h) => headers.push(h);
    const buf = Buffer.from("srcaddr dstaddr srcaddr\nsrcaddr dstaddr action tgw-id\n");
    scanner.scanLines(buf, 0, buf.length, () => undefined);
    expect(headers.map((h) => h.problems)).toEqual([['field "srcaddr" is listed twice'], ['field "tgw-id" exists only in transit gateway flow logs and field "action" only in VPC flow logs: no flow log has both']]);
  });

  it("the header line of a transit gateway flow log file on S3 switches to the transit gateway format it names", () => {
    const headers: HeaderLine[] = [];
    const stats = newStats();
    const scanner = new FlowScanner(LogFormat.DEFAULT, stats);
    scanner.onHeader = (h) => headers.push(h);
    const buf = Buffer.from(`${LogFormat.TRANSIT_GATEWAY_DEFAULT.names.join(" ")}\n${tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443 })}\n`);
    let ports = 0;
    scanner.scanLines(buf, 0, buf.length, () => (ports = scanner.num[1]!));
    expect(headers[0]!.format!.family).toBe("tgw");
    expect(headers[0]!.format!.names).toEqual(LogFormat.TRANSIT_GATEWAY_DEFAULT.names);
    expect(ports).toBe(443);
    expect(stats).toEqual({ read: 1, analysed: 1, skipped: {} });
  });

  it("prose is not a header, even with a field name in it", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse("start the engine")).toBeUndefined();
    expect(p.parse("milk eggs")).toBeUndefined();
    expect(p.stats.skipped).toEqual({ "non-numeric": 2 });
  });

  it("a stream that ends under a bad header leaves the next stream in the configured format", () => {
    const stats = newStats();
    const scanner = new FlowScanner(LogFormat.DEFAULT, stats);
    const bad = Buffer.from(`version srcaddr nosuchfield\n${example({})}\n`);
    scanner.scanLines(bad, 0, bad.length, () => undefined);
    expect(scanner.readable).toBe(false);
    scanner.use(LogFormat.DEFAULT);
    const good = Buffer.from(`${example({})}\n`);
    let records = 0;
    scanner.scanLines(good, 0, good.length, () => records++);
    expect(records).toBe(1);
    expect(stats.skipped).toEqual({ "bad-header": 1 });
  });
});

describe("records wrapped in JSON", () => {
  const record = example({});

  it("a shipper's {\"message\": ...} line is unwrapped and analysed", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse(JSON.stringify({ message: record, timestamp: "2026-11-01T00:00:00Z", host: "collector-1" }))).toMatchObject({ srcaddr: "172.31.16.139", dstport: 22, action: "ACCEPT" });
    expect(p.stats).toEqual({ read: 1, analysed: 1, skipped: {} });
  });

  it("a CloudWatch Logs subscription payload on one line (as Firehose delivers it) gives each of its events; a control message gives none", () => {
    const stats = newStats();
    const scanner = new FlowScanner(LogFormat.DEFAULT, stats);
    const payload = { messageType: "DATA_MESSAGE", owner: "123456789010", logGroup: "/flowlogs", logEvents: [{ id: "1", timestamp: 0, message: record }, { id: "2", timestamp: 0, message: example({ dstport: "443" }) }] };
    const buf = Buffer.from(`${JSON.stringify(payload)}\n${JSON.stringify({ messageType: "CONTROL_MESSAGE", logEvents: [{ message: "CWL CONTROL MESSAGE: Checking health of destination Firehose." }] })}\n`);
    const ports: number[] = [];
    scanner.scanLines(buf, 0, buf.length, () => ports.push(scanner.num[1]!));
    expect(ports).toEqual([22, 443]);
    expect(stats).toEqual({ read: 2, analysed: 2, skipped: {} });
  });

  it("the wrapped record is checked like any other (impossible values, NODATA)", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse(JSON.stringify({ message: example({ bytes: "100000000000000000000000" }) }))).toBeUndefined();
    expect(p.parse(JSON.stringify({ message: "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA" }))).toBeUndefined();
    expect(p.stats).toEqual({ read: 2, analysed: 0, skipped: { "invalid-value": 1, nodata: 1 } });
  });

  it("JSON without a message string, and broken JSON, are lines like any other (non-numeric)", () => {
    const p = new RecordParser(LogFormat.DEFAULT);
    expect(p.parse(JSON.stringify({ msg: record }))).toBeUndefined();
    expect(p.parse(JSON.stringify({ message: 42 }))).toBeUndefined();
    expect(p.parse(`{"message": "${record}"`)).toBeUndefined();
    expect(p.stats).toEqual({ read: 3, analysed: 0, skipped: { "non-numeric": 3 } });
  });
});

describe("skipped lines are kept, a few, to explain a run that analysed nothing", () => {
  it("the first three, with their reason and the format they were read in; NODATA records are not kept", () => {
    const stats = newStats();
    const scanner = new FlowScanner(LogFormat.DEFAULT, stats);
    const lines = ["2 123456789010 eni-1 - - - - - - - 1 2 - NODATA", "a b c", example({ protocol: "300" }), "1 2 3", "x"];
    const buf = Buffer.from(`${lines.join("\n")}\n`);
    scanner.scanLines(buf, 0, buf.length, () => undefined);
    expect(scanner.samples.map((s) => [s.text, s.reason, s.format === LogFormat.DEFAULT])).toEqual([
      ["a b c", "non-numeric", true],
      [lines[2], "invalid-value", true],
      ["1 2 3", "too-few-fields", true],
    ]);
  });
});

describe("sources", () => {
  const collect = async (input: Readable) => {
    const stats = newStats();
    const lines: string[] = [];
    const splitter = new LineSplitter((buf, s, e) => {
      expect(buf[e - 1]).toBe(10); // runs of whole lines
      lines.push(...buf.toString("latin1", s, e - 1).split("\n"));
    });
    let damaged = false;
    for await (const chunk of streamChunks(input, stats, () => (damaged = true))) splitter.push(chunk);
    if (damaged) splitter.discard();
    else splitter.end();
    return { lines, stats };
  };
  const text = "version account-id\n2 1\r\n2 2\n2 3";

  it("reads plain text, with or without a final newline, and strips CRLF in the parser", async () => {
    expect((await collect(Readable.from([Buffer.from(text)]))).lines).toEqual(["version account-id", "2 1\r", "2 2", "2 3"]);
  });

  it("reads gzip, detected from its magic bytes, across chunk boundaries", async () => {
    const gz = zlib.gzipSync(text);
    const chunks = [gz.subarray(0, 5), gz.subarray(5)];
    expect((await collect(Readable.from(chunks))).lines).toEqual(["version account-id", "2 1\r", "2 2", "2 3"]);
  });

  it("keeps the lines of a truncated gzip and counts the damage", async () => {
    const big = Array.from({ length: 5000 }, (_, i) => `2 ${i} some padding text that compresses ${i * 7}`).join("\n");
    const gz = zlib.gzipSync(big);
    const { lines, stats } = await collect(Readable.from([gz.subarray(0, Math.floor(gz.length / 2))]));
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.length).toBeLessThan(5000);
    expect(stats.skipped).toEqual({ "truncated-gzip": 1 });
  });

  it("decodes a subscription delivery as it arrives: base64 of gzip of JSON", () => {
    const payload = { messageType: "DATA_MESSAGE", logGroup: "/g", logEvents: [{ id: "1", timestamp: 0, message: "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK" }] };
    expect(decodeSubscriptionData(zlib.gzipSync(JSON.stringify(payload)).toString("base64"))).toEqual(["2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK"]);
    expect(() => decodeSubscriptionData("not-gzip")).toThrow("awslogs.data: not base64-encoded gzip (got ");
    expect(() => decodeSubscriptionData(zlib.gzipSync("hello").toString("base64"))).toThrow('awslogs.data: gzip content is not JSON (got "hello").');
  });

  it("decodes CloudWatch subscription payloads and ignores control messages", () => {
    expect(subscriptionMessages({ messageType: "DATA_MESSAGE", logEvents: [{ message: "a" }, { message: "b" }] })).toEqual(["a", "b"]);
    expect(subscriptionMessages({ messageType: "CONTROL_MESSAGE", logEvents: [{ message: "x" }] })).toEqual([]);
  });

  it("turns Logs Insights rows into lines, from @message or from the fields", () => {
    expect(insightsRowToLine([{ field: "@message", value: "2 1 eni-1" }, { field: "@ptr", value: "x" }], LogFormat.DEFAULT)).toBe("2 1 eni-1");
    const f = LogFormat.custom(["srcaddr", "dstaddr", "bytes"], "vpc");
    expect(insightsRowToLine([{ field: "dstaddr", value: "10.0.0.2" }, { field: "srcaddr", value: "10.0.0.1" }], f)).toBe("10.0.0.1 10.0.0.2 -");
  });
});
