import { describeError } from "../../capabilities/reconcilers/log";

describe("describeError", () => {
  it("turns kubernetes-fluent-client's thrown responses into status + message, never [object Object]", () => {
    expect(
      describeError({
        ok: false,
        status: 422,
        statusText: "Unprocessable Entity",
        data: { message: "spec.x: Invalid" },
      }),
    ).toEqual({ status: 422, error: "Unprocessable Entity: spec.x: Invalid" });
    const network = {
      ok: false,
      status: 400,
      statusText: "fetch failed",
      e: new Error("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:6443") }),
    };
    expect(describeError(network).error).toBe("fetch failed: connect ECONNREFUSED 127.0.0.1:6443");
    expect(describeError(new Error("plain"))).toEqual({ error: "plain" });
    expect(describeError("text")).toEqual({ error: "text" });
  });
});
