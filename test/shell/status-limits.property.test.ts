/** Properties of the one function that makes condition messages fit the CRDs' maxLength. */
import fc from "fast-check";
import { CONDITION_MESSAGE_MAX, fitMessage } from "../../capabilities/reconcilers/status-limits";

// the API server counts code points (kube-openapi: utf8.RuneCount), not UTF-16 units
const points = (s: string) => Array.from(s).length;
const MARKER = /… \(truncated: ([\d,]+) more characters\)$/;

describe("fitMessage", () => {
  it("leaves a message that fits alone, and cuts one that does not to at most the limit, marked with how much was cut", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 })),
        fc.integer({ min: 40, max: 120 }),
        (message, max) => {
          const out = fitMessage(message, max);
          expect(points(out)).toBeLessThanOrEqual(max);
          if (points(message) <= max) {
            expect(out).toBe(message);
            return;
          }
          const m = MARKER.exec(out);
          expect(m).not.toBeNull();
          const kept = Array.from(out.slice(0, m!.index));
          expect(Array.from(message).slice(0, kept.length)).toEqual(kept); // a prefix, never half a pair
          expect(kept.length + Number(m![1].replace(/,/g, ""))).toBe(points(message));
          // as much kept as fits: the marker's count can lose a digit and a comma as it shrinks
          expect(points(out)).toBeGreaterThanOrEqual(max - 2);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("counts code points: 32768 emoji fit, 32769 do not", () => {
    const fits = "😀".repeat(CONDITION_MESSAGE_MAX); // 65,536 UTF-16 units
    expect(fitMessage(fits)).toBe(fits);
    const cut = fitMessage(fits + "😀");
    expect(points(cut)).toBe(CONDITION_MESSAGE_MAX);
    expect(cut).toMatch(/^😀+… \(truncated: \d+ more characters\)$/u);
  });

  it("groups the count in thousands", () => {
    const out = fitMessage("x".repeat(77_891));
    expect(points(out)).toBe(CONDITION_MESSAGE_MAX);
    const more = 77_891 - out.indexOf("…");
    expect(out.endsWith(`… (truncated: ${more.toLocaleString("en-US")} more characters)`)).toBe(true);
    expect(more).toBeGreaterThan(45_000);
  });
});
