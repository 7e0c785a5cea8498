import { Testing } from "cdktf";
import { archiveLayout, athenaColumns } from "../../functions/flowlog/athena";
import { fieldByName } from "../../functions/flowlog/fields";
import { LogFormat } from "../../functions/flowlog/format";
import { insightsParse, metricFilterPattern } from "../../functions/flowlog/insights";
import { SAVED_QUERIES, savedQueries } from "../../functions/flowlog/queries";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { env } from "../support/env";

type R = Record<string, Record<string, Record<string, unknown>>>;
/** The flow-log tables, without the detector's findings table. */
const flowTables = (r: R) => Object.values(r.aws_glue_catalog_table!).filter((t) => t.name !== "findings");
const synth = (overrides: Record<string, unknown> = {}) => JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), env(overrides)))).resource as R;
const V5 = LogFormat.custom(["version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "instance-id", "tcp-flags", "flow-direction"], "vpc");

describe("saved Logs Insights queries", () => {
  it("parse exactly the log group's custom format, in record order", () => {
    expect(insightsParse(V5)).toBe(
      'parse @message "* * * * * * * * * * * * * * * *" as version, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, end, action, log_status, instance_id, tcp_flags, flow_direction',
    );
    expect(insightsParse(LogFormat.DEFAULT)).toBe("");
  });

  it.each([["the AWS default format", LogFormat.DEFAULT], ["a version-5 custom format", V5]])("use only fields %s has", (_t, format) => {
    const queries = savedQueries(format);
    const known = new Set(format.isDefault ? ["version", "accountId", "interfaceId", "srcAddr", "dstAddr", "srcPort", "dstPort", "protocol", "packets", "bytes", "start", "end", "action", "logStatus"] : format.names.map((n) => n.replace(/-/g, "_")));
    for (const q of queries) {
      for (const f of q.fields) expect(known).toContain(f);
      if (!format.isDefault) expect(q.query).toContain(insightsParse(format));
    }
  });

  it("offers every query a version-5 format can answer, and drops those the default format cannot", () => {
    expect(savedQueries(V5).map((q) => q.name)).toEqual(SAVED_QUERIES.map((q) => q.name));
    const names = savedQueries(LogFormat.DEFAULT).map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(["latest-records", "rejected-ssh-by-source", "bytes-per-minute", "detect-port-scan", "detect-exfiltration", "detect-c2-fan-out", "detect-lateral-movement"]));
    expect(names).not.toContain("bytes-by-instance");
    expect(names).not.toContain("detect-rdp-brute-force");
    for (const q of SAVED_QUERIES) for (const f of q.needs) expect(fieldByName(f)).toBeDefined();
  });

  it("filter before aggregating in the port-scan query, and bin bytes by the minute", () => {
    const scan = savedQueries(LogFormat.DEFAULT).find((q) => q.name === "detect-port-scan")!.query;
    expect(scan.indexOf('filter action = "REJECT"')).toBeLessThan(scan.indexOf("count_distinct(dstPort)"));
    expect(savedQueries(LogFormat.DEFAULT).find((q) => q.name === "bytes-per-minute")!.query).toContain("by bin(1m)");
    expect(savedQueries(V5).find((q) => q.name === "detect-rdp-brute-force")!.query).toContain("tcp_flags = 2");
  });

  it("are provisioned in the environment's folder on its log group", () => {
    const r = synth();
    const defs = Object.values(r.aws_cloudwatch_query_definition!);
    expect(defs.map((d) => d.name)).toContain("flowlog-kit/test/latest-records");
    for (const d of defs) expect(d.log_group_names).toEqual(["/flowlog-kit/test/vpc-flow-logs"]);
  });
});

describe("Athena over the archive", () => {
  it.each([
    [{ fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false }, "s3://b/AWSLogs/123456789012/vpcflowlogs/eu-west-1/${year}/${month}/${day}/", ["year", "month", "day"]],
    [{ fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true }, "s3://b/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=${year}/month=${month}/day=${day}/hour=${hour}/", ["year", "month", "day", "hour"]],
  ] as const)("projects the layout AWS writes for %j", (options, template, keys) => {
    const layout = archiveLayout("b", "123456789012", "eu-west-1", options);
    expect(layout.locationTemplate).toBe(template);
    expect(layout.partitionKeys).toEqual(keys);
    expect(layout.projection["projection.month.digits"]).toBe("2");
  });

  it("matches the table to the flow log's destination options and format", () => {
    const r = synth({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["s3"], s3: { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true } }] });
    const table = flowTables(r)[0]!;
    const params = table.parameters as Record<string, string>;
    expect(params["storage.location.template"]).toBe("s3://flowlogs-test-123456789012-eu-west-1/parquet/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/");
    expect(params["projection.enabled"]).toBe("true");
    expect(params.classification).toBe("parquet");
    expect(table.partition_keys).toEqual(["year", "month", "day", "hour"].map((name) => ({ name, type: "int" })));
    const sd = table.storage_descriptor as { columns: unknown; ser_de_info: { serialization_library: string } };
    expect(sd.columns).toEqual(athenaColumns(LogFormat.DEFAULT));
    expect(sd.ser_de_info.serialization_library).toContain("Parquet");
    const text = flowTables(synth())[0]!;
    expect((text.parameters as Record<string, string>)["skip.header.line.count"]).toBe("1");
    expect((text.storage_descriptor as { ser_de_info: { parameters: Record<string, string> } }).ser_de_info.parameters["field.delim"]).toBe(" ");
  });

  it("gives a plain-text and a Parquet scope with the same Hive flag separate folders, each read by its own table only", () => {
    const r = synth({
      flowLogs: [
        { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["s3"], s3: { fileFormat: "plain-text", hiveCompatiblePartitions: true } },
        { resource: "vpc", id: "vpc-0fedcba9876543210", destinations: ["s3"], s3: { fileFormat: "parquet", hiveCompatiblePartitions: true } },
      ],
    });
    const bucket = "arn:aws:s3:::flowlogs-test-123456789012-eu-west-1";
    const destinations = Object.values(r.aws_flow_log!).map((l) => [l.vpc_id, l.log_destination]);
    // The bucket ARN is a reference at synth: compare the folder that follows it.
    const folderOf = (d: unknown) => String(d).replace(/^\$\{aws_s3_bucket\.[A-Za-z0-9_]+\.arn\}/, bucket);
    expect(destinations.map(([vpc, d]) => [vpc, folderOf(d)])).toEqual(
      expect.arrayContaining([["vpc-0123456789abcdef0", bucket], ["vpc-0fedcba9876543210", `${bucket}/parquet/`]]),
    );
    const locations = flowTables(r).map((t) => (t.storage_descriptor as { location: string }).location);
    expect(locations.sort()).toEqual([
      "s3://flowlogs-test-123456789012-eu-west-1/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/",
      "s3://flowlogs-test-123456789012-eu-west-1/parquet/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/",
    ]);
    for (const a of locations) for (const b of locations) if (a !== b) expect(b.startsWith(a)).toBe(false);
  });

  it("refuses two scopes that would write the same keys in different layouts or log formats", () => {
    const vpc = (id: string, s3: object, logFormat: unknown = "default") => ({ resource: "vpc", id, destinations: ["s3"], s3, logFormat });
    expect(() => synth({ flowLogs: [vpc("vpc-0123456789abcdef0", { perHourPartition: false }), vpc("vpc-0fedcba9876543210", { perHourPartition: true })] })).toThrow(
      "test.flowLogs[1].s3.perHourPartition: writes under the same S3 keys as flowLogs[0] (plain-text, hiveCompatiblePartitions false) with different partitioning (got true). Give both scopes the same perHourPartition and logFormat, or a different fileFormat or hiveCompatiblePartitions, so each Athena table reads only its own files.",
    );
    expect(() => synth({ flowLogs: [vpc("vpc-0123456789abcdef0", {}), vpc("vpc-0fedcba9876543210", {}, ["srcaddr", "dstaddr"])] })).toThrow(
      'test.flowLogs[1].logFormat: writes under the same S3 keys as flowLogs[0] (plain-text, hiveCompatiblePartitions false) in a different log format (got ["srcaddr","dstaddr"]).',
    );
  });

  it("reads restored Glacier objects only when the archive may go cold", () => {
    const param = (o: Record<string, unknown>) => (flowTables(synth(o))[0]!.parameters as Record<string, string>).read_restored_glacier_objects;
    expect(param({})).toBeUndefined();
    expect(param({ retention: { cloudwatch: "production", archive: "personal-data", archiveStorage: "cold" } })).toBe("true");
  });

  it("enforces its workgroup configuration, caps bytes scanned, and encrypts results in a bucket that expires them", () => {
    const r = synth({ analytics: { athena: { bytesScannedCutoffGb: 5 } } });
    const wg = Object.values(r.aws_athena_workgroup!)[0]!;
    expect(wg.configuration).toMatchObject({
      enforce_workgroup_configuration: true,
      bytes_scanned_cutoff_per_query: 5 * 1024 ** 3,
      result_configuration: { output_location: "s3://flowlogs-test-ath-123456789012-eu-west-1/results/", encryption_configuration: { encryption_option: "SSE_KMS" } },
    });
    const lc = Object.values(r.aws_s3_bucket_lifecycle_configuration!).find((l) => JSON.stringify(l).includes("expire-query-results"))!;
    expect((lc.rule as Record<string, unknown>[])[0]).toMatchObject({ expiration: [{ days: 30 }] });
  });

  it("names queries that always filter on partitions", () => {
    const named = Object.values(synth().aws_athena_named_query!);
    expect(named.map((q) => q.name).sort()).toEqual(["flow_logs: hourly-traffic-summary", "flow_logs: rejected-by-source-destination-port", "flow_logs: top-sources-by-bytes"]);
    for (const q of named) expect(q.query).toMatch(/WHERE \(year, month, day\) IN/);
  });

  it("reads the detector's findings from the results bucket's findings/ folder: OpenX JSON SerDe, one day partition projected a day", () => {
    const r = synth();
    const table = Object.values(r.aws_glue_catalog_table!).find((t) => t.name === "findings")!;
    expect(table.database_name).toMatch(/aws_glue_catalog_database\.Athena_Database_\w+\.name/);
    expect(table.partition_keys).toEqual([{ name: "dt", type: "string" }]);
    expect(table.parameters).toEqual({
      EXTERNAL: "TRUE", classification: "json", "projection.enabled": "true", "projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd",
      "projection.dt.range": "NOW-30DAYS,NOW", "projection.dt.interval": "1", "projection.dt.interval.unit": "DAYS",
      "storage.location.template": "s3://flowlogs-test-ath-123456789012-eu-west-1/findings/dt=$${dt}/",
    });
    const sd = table.storage_descriptor as { location: string; ser_de_info: { serialization_library: string }; columns: { name: string; type: string }[] };
    expect(sd.location).toBe("s3://flowlogs-test-ath-123456789012-eu-west-1/findings/");
    expect(sd.ser_de_info.serialization_library).toBe("org.openx.data.jsonserde.JsonSerDe");
    expect(sd.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      "id string", "rule string", "severity string", "src string", "dst string", "port int", "protocol int", "interface_id string",
      "window_start bigint", "window_end bigint", "score double", "evidence string", "run_end bigint",
    ]);
  });

  it("tells the detector to store its findings there, and lets its role write exactly that folder", () => {
    const r = synth();
    const fn = Object.values(r.aws_lambda_function!)[0]!;
    expect((fn.environment as { variables: Record<string, string> }).variables.FLOWLOG_FINDINGS).toBe("s3://flowlogs-test-ath-123456789012-eu-west-1/findings/");
    const policy = Object.values(r.aws_iam_role_policy!).map((p) => JSON.parse(p.policy as string) as { Statement: { Sid: string }[] }).find((p) => p.Statement.some((x) => x.Sid === "StoreFindingsForAthena"))!;
    expect(policy.Statement.find((x) => x.Sid === "StoreFindingsForAthena")).toEqual({ Sid: "StoreFindingsForAthena", Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::flowlogs-test-ath-123456789012-eu-west-1/findings/*" });
  });

  it("gives the detector its ledger of published findings in the results bucket's published/ folder: its role puts and reads exactly there, and the markers expire after 3 days", () => {
    const r = synth();
    const fn = Object.values(r.aws_lambda_function!)[0]!;
    expect((fn.environment as { variables: Record<string, string> }).variables.FLOWLOG_PUBLISHED).toBe("s3://flowlogs-test-ath-123456789012-eu-west-1/published/");
    const policy = Object.values(r.aws_iam_role_policy!).map((p) => JSON.parse(p.policy as string) as { Statement: { Sid: string }[] }).find((p) => p.Statement.some((x) => x.Sid === "KeepThePublishLedger"))!;
    expect(policy.Statement.find((x) => x.Sid === "KeepThePublishLedger")).toEqual({ Sid: "KeepThePublishLedger", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: "arn:aws:s3:::flowlogs-test-ath-123456789012-eu-west-1/published/*" });
    const lc = Object.values(r.aws_s3_bucket_lifecycle_configuration!).find((l) => JSON.stringify(l).includes("expire-query-results"))!;
    expect((lc.rule as Record<string, unknown>[])[1]).toEqual({ id: "expire-published-markers", status: "Enabled", filter: [{ prefix: "published/" }], expiration: [{ days: 3 }] });
  });

  it("is absent when switched off or when nothing is archived to S3", () => {
    expect(synth({ analytics: { athena: { enabled: false } } }).aws_athena_workgroup).toBeUndefined();
    expect(synth({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] }] }).aws_glue_catalog_table).toBeUndefined();
  });
});

describe("alarms, subscriptions, dashboard and data protection", () => {
  it("counts rejected SSH/RDP and log gaps with patterns built from the format", () => {
    expect(metricFilterPattern(LogFormat.DEFAULT, { dstport: "22", action: '"REJECT"' })).toBe(
      '[version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport=22, protocol, packets, bytes, start, end, action="REJECT", log_status]',
    );
    const r = synth({ analytics: { alarms: { rejectedAdminThreshold: 50 } } });
    const filters = Object.values(r.aws_cloudwatch_log_metric_filter!);
    expect(filters.map((f) => (f.metric_transformation as { name: string }).name).sort()).toEqual(["LogGaps", "RejectedAdminAttempts", "RejectedAdminAttempts"]);
    const alarms = Object.values(r.aws_cloudwatch_metric_alarm!).filter((a) => String(a.namespace).startsWith("flowlog-kit/"));
    expect(alarms.find((a) => a.metric_name === "RejectedAdminAttempts")).toMatchObject({ threshold: 50, period: 300 });
    expect(alarms.find((a) => a.metric_name === "LogGaps")).toMatchObject({ threshold: 1 });
  });

  it("counts only SKIPDATA as a log gap: NODATA, an idle interface's normal record, never raises it", () => {
    const r = synth();
    const gaps = Object.values(r.aws_cloudwatch_log_metric_filter!).filter((f) => (f.metric_transformation as { name: string }).name === "LogGaps");
    expect(gaps.map((f) => f.pattern)).toEqual([expect.stringContaining('log_status="SKIPDATA"')]);
    expect(JSON.stringify(r.aws_cloudwatch_log_metric_filter)).not.toContain("NODATA");
    expect(Object.values(r.aws_cloudwatch_metric_alarm!).find((a) => a.metric_name === "LogGaps")).toMatchObject({ comparison_operator: "GreaterThanOrEqualToThreshold", treat_missing_data: "notBreaching" });
  });

  it("alarms when no record at all reaches the log group for an hour, treating missing data as an outage", () => {
    const r = synth();
    const delivery = Object.values(r.aws_cloudwatch_metric_alarm!).find((a) => a.metric_name === "IncomingLogEvents")!;
    expect(delivery).toMatchObject({
      alarm_name: "flowlogs-test-delivery-stopped",
      namespace: "AWS/Logs",
      dimensions: { LogGroupName: "/flowlog-kit/test/vpc-flow-logs" },
      statistic: "Sum",
      period: 900,
      evaluation_periods: 4,
      datapoints_to_alarm: 4,
      threshold: 1,
      comparison_operator: "LessThanThreshold",
      treat_missing_data: "breaching",
    });
    expect(delivery.alarm_actions).toEqual(delivery.ok_actions);
    // It needs no field of the format: a format without log-status still gets it.
    const minimal = synth({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"], logFormat: ["srcaddr", "dstaddr", "dstport", "action"] }] });
    expect(Object.values(minimal.aws_cloudwatch_metric_alarm!).map((a) => a.metric_name)).toContain("IncomingLogEvents");
    expect(Object.values(minimal.aws_cloudwatch_metric_alarm!).map((a) => a.metric_name)).not.toContain("LogGaps");
  });

  it("subscribes the configured email and https endpoints to the encrypted findings topic", () => {
    const r = synth({ analytics: { subscriptions: { email: ["secops@example.com"], https: ["https://hooks.example.com/x"] } } });
    expect(Object.values(r.aws_sns_topic_subscription!).map((s) => [s.protocol, s.endpoint])).toEqual([["email", "secops@example.com"], ["https", "https://hooks.example.com/x"]]);
    expect(Object.values(r.aws_sns_topic!)[0]!.kms_master_key_id).toMatch(/aws_kms_key/);
  });

  it("builds a dashboard of Logs Insights widgets and detector health", () => {
    const body = JSON.parse(Object.values(synth().aws_cloudwatch_dashboard!)[0]!.dashboard_body as string) as { widgets: { type: string; properties: { title: string; query?: string } }[] };
    expect(body.widgets.map((w) => w.properties.title)).toEqual(["Flow volume (bytes per 5 minutes)", "Top talkers (bytes)", "Rejected flows", "Destination ports", "Detector health"]);
    for (const w of body.widgets.filter((x) => x.type === "log")) expect(w.properties.query).toMatch(/^SOURCE '\/flowlog-kit\/test\/vpc-flow-logs' \| fields/);
  });

  it("masks IP addresses only when asked, auditing to its own log group", () => {
    expect(synth().aws_cloudwatch_log_data_protection_policy).toBeUndefined();
    const r = synth({ analytics: { maskIpAddresses: true } });
    const policy = JSON.parse(Object.values(r.aws_cloudwatch_log_data_protection_policy!)[0]!.policy_document as string);
    expect(policy.Statement.map((s: { Operation: object }) => Object.keys(s.Operation)[0])).toEqual(["Audit", "Deidentify"]);
    expect(policy.Statement[0].DataIdentifier).toEqual(["arn:aws:dataprotection::aws:data-identifier/IpAddress"]);
    const fn = Object.values(r.aws_lambda_function!)[0]!;
    expect((fn.environment as { variables: Record<string, string> }).variables.FLOWLOG_UNMASK).toBe("1");
  });

  it.each([
    ["cn-north-1", "arn:aws-cn:dataprotection::aws:data-identifier/IpAddress"],
    ["us-gov-west-1", "arn:aws-us-gov:dataprotection::aws:data-identifier/IpAddress"],
  ])("names the IP-address identifier in the partition of %s", (region, arn) => {
    const r = synth({ region, analytics: { maskIpAddresses: true } });
    const policy = JSON.parse(Object.values(r.aws_cloudwatch_log_data_protection_policy!)[0]!.policy_document as string);
    for (const st of policy.Statement) expect(st.DataIdentifier).toEqual([arn]);
  });
});
