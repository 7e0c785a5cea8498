import { s3ListNotices } from "../../bin/detect";

describe("flowlog-kit detect --env with threat lists kept in S3", () => {
  it("says for each S3 list that the local run does not check it, and says nothing for lists read from files", () => {
    const env = {
      name: "prod",
      detectors: {
        threatIntel: [
          { name: "local", path: "threat-intel/abuse.txt" },
          { name: "abuse-ch", s3: "s3://secops-intel/lists/abuse.txt" },
        ],
      },
    } as unknown as Parameters<typeof s3ListNotices>[0];
    expect(s3ListNotices(env)).toEqual([
      "prod.detectors.threatIntel[1] (abuse-ch): s3://secops-intel/lists/abuse.txt is read by the deployed detector only; this run does not check matches against it. To check them here, download the list and run with an environment that names it by path.",
    ]);
  });
});
