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
    expect(
      describeError({
        ok: false,
        status: 409,
        statusText: "Conflict",
        data: '{"message":"the object has been modified"}',
      }),
    ).toEqual({
      status: 409,
      error: "Conflict: the object has been modified",
    });
    expect(describeError("text")).toEqual({ error: "text" });
  });

  it("turns @kubernetes/client-node's ApiException into status + the API server's message, without the headers", () => {
    // what client-node 1.x throws for a non-2xx response: the body is the raw response text
    const e = Object.assign(
      new Error('HTTP-Code: 422\nMessage: Unknown API Status Code!\nBody: "..."\nHeaders: {"audit-id":"x"}'),
      {
        code: 422,
        body: JSON.stringify({
          kind: "Status",
          status: "Failure",
          message:
            'HTTPRoute.gateway.networking.k8s.io "r" is invalid: status.parents[0].conditions[1].message: Too long',
          reason: "Invalid",
          code: 422,
        }),
      },
    );
    expect(describeError(e)).toEqual({
      status: 422,
      error: 'HTTPRoute.gateway.networking.k8s.io "r" is invalid: status.parents[0].conditions[1].message: Too long',
    });
    expect(describeError(Object.assign(new Error("HTTP-Code: 500\nMessage: x"), { code: 500, body: "" }))).toEqual({
      status: 500,
      error: "HTTP-Code: 500",
    });
    // Node's system errors carry a string code: not an HTTP status
    expect(describeError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toEqual({
      error: "connect ECONNREFUSED",
    });
  });
});
